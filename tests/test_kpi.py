"""KPIs: where leads leak over the window, what is open now, and the sheets that show it."""

import datetime as dt
import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt.hours import OpeningHours
from forecourt.issues import make_issue
from forecourt.rules.kpi import BLANK, compute_kpis
from forecourt.rules.sheets import issues_sheet, kpi_sheet, log_sheet
from forecourt.settings import DEFAULT_HOURS
from forecourt.validators.vocabulary import CHANNEL_CLASSES, OPEN_STATUSES, STATUS_ORDER

HOURS = OpeningHours.of(DEFAULT_HOURS)
AS_OF = dt.datetime(2026, 11, 23, 12, 0)  # a Monday, noon
RATES = ("sla_met", "contact_rate", "appointment_rate", "show_rate", "win_rate")
COLUMNS = [
    "row", "lead_id", "received_at", "first_response_at", "appointment_at", "channel", "source",
    "owner", "store", "status", "furthest", "status_since", "due", "overdue", "due_soon",
    "stalled", "sla_deadline",
]


def at(text):
    return None if text is None else dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


def stage(status):
    return STATUS_ORDER.index(status)


def lead(lead_id, received, response, appointment, channel, owner, store, status, furthest,
         since, deadline, overdue=False, due_soon=False, stalled=False):
    return {
        "row": int(lead_id[1:]) + 1,
        "lead_id": lead_id,
        "received_at": at(received),
        "first_response_at": at(response),
        "appointment_at": at(appointment),
        "channel": channel,
        "source": channel,
        "owner": owner,
        "store": store,
        "status": status,
        "furthest": furthest,
        "status_since": at(since),
        "due": None,
        "overdue": overdue,
        "due_soon": due_soon,
        "stalled": stalled,
        "sla_deadline": at(deadline),
    }


def frame(rows):
    df = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("received_at", "first_response_at", "appointment_at", "status_since",
                   "sla_deadline", "due"):
        df[column] = pd.to_datetime(df[column])
    return df


# L1..L7 are inside the 30-day window; L8 is 40 days old; L9 is old but still open.
LEADS = frame(
    [
        # Saturday 13:58 chat answered Monday 09:03: 5 business minutes, SLA met.
        lead("L1", "2026-11-21 13:58", "2026-11-23 09:03", None, "chat", "Ann", "North",
             "Contacted", stage("Contacted"), "2026-11-22 12:00", "2026-11-23 09:03"),
        # Friday 17:50 call answered Saturday 09:20: 30 business minutes, SLA (Fri 18:00) missed.
        lead("L2", "2026-11-20 17:50", "2026-11-21 09:20", "2026-11-25 10:00", "phone", "Ann",
             "North", "Appointment set", stage("Appointment set"), "2026-11-22 12:00",
             "2026-11-20 18:00"),
        # Ten minutes old, SLA not expired yet: left out of SLA met.
        lead("L3", "2026-11-23 11:50", None, None, "form", "Ben", "South", None, 0,
             "2026-11-23 11:50", "2026-11-23 12:05", due_soon=True),
        # Never answered, SLA long expired: a miss.
        lead("L4", "2026-11-19 10:00", None, None, "email", "Ben", None, "Attempting contact",
             stage("Attempting contact"), "2026-11-19 12:00", "2026-11-19 11:00",
             overdue=True, stalled=True),
        lead("L5", "2026-11-16 10:00", "2026-11-16 10:04", "2026-11-18 15:00", "chat", "Ann",
             "North", "Shown", stage("Shown"), "2026-11-18 12:00", "2026-11-16 10:05"),
        lead("L6", "2026-11-14 10:00", "2026-11-14 10:00", "2026-11-14 10:00", "walk-in", "Cara",
             "South", "Won", stage("Won"), "2026-11-15 12:00", "2026-11-16 13:00"),
        lead("L7", "2026-11-10 09:00", "2026-11-10 09:07", "2026-11-12 10:00", "phone", "Cara",
             "South", "No show", stage("No show"), "2026-11-13 12:00", "2026-11-10 09:10",
             overdue=True),
        lead("L8", "2026-10-14 10:00", "2026-10-14 10:30", None, "form", "Ann", "North", "Lost",
             stage("Contacted"), "2026-10-20 12:00", "2026-10-14 10:15", stalled=True),
        lead("L9", "2026-09-01 10:00", "2026-09-01 10:30", None, "other", "Ben", "South",
             "Contacted", stage("Contacted"), "2026-11-02 12:00", "2026-09-01 18:00",
             overdue=True, stalled=True),
    ]
)


@pytest.fixture(scope="module")
def kpis():
    return compute_kpis(LEADS, HOURS, AS_OF)


def test_window_and_stamp_are_stated(kpis):
    assert kpis["window"] == {"from": "2026-10-24 12:00", "to": "2026-11-23 12:00", "days": 30}
    assert kpis["computed_at"] == "2026-11-23 12:00"


def test_overall_metrics_over_the_window(kpis):
    overall = kpis["overall"]
    assert overall["leads"] == 7  # the 40-day-old and the September lead are outside
    # 0 (walk-in), 4, 5 (Saturday 13:58 -> Monday 09:03), 7, 30 (Friday 17:50 -> Saturday 09:20)
    assert overall["median_first_response_min"] == 5.0
    # L3's SLA has not expired; L2 answered late and L4 never: 4 of 6 met.
    assert overall["sla_met"] == pytest.approx(4 / 6, abs=1e-4)
    assert overall["contact_rate"] == pytest.approx(5 / 7, abs=1e-4)
    assert overall["appointment_rate"] == pytest.approx(4 / 7, abs=1e-4)
    # L5 and L6 came, L7 did not; L2's appointment is still ahead.
    assert overall["show_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert overall["win_rate"] == pytest.approx(1 / 7, abs=1e-4)


def test_split_by_source_in_channel_order(kpis):
    by_source = kpis["by_source"]
    assert list(by_source) == ["chat", "phone", "form", "email", "walk-in"]
    assert [m["leads"] for m in by_source.values()] == [2, 2, 1, 1, 1]
    assert by_source["chat"]["median_first_response_min"] == 4.5
    assert by_source["chat"]["sla_met"] == 1.0
    assert by_source["phone"]["median_first_response_min"] == 18.5
    assert by_source["phone"]["sla_met"] == 0.5
    assert by_source["phone"]["show_rate"] == 0.0
    assert by_source["form"]["sla_met"] is None
    assert by_source["form"]["median_first_response_min"] is None
    assert by_source["email"]["sla_met"] == 0.0
    assert by_source["walk-in"]["win_rate"] == 1.0


def test_split_by_owner_and_store(kpis):
    assert {k: m["leads"] for k, m in kpis["by_owner"].items()} == {"Ann": 3, "Ben": 2, "Cara": 2}
    assert kpis["by_owner"]["Cara"]["win_rate"] == 0.5
    assert kpis["by_owner"]["Ann"]["appointment_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert {k: m["leads"] for k, m in kpis["by_store"].items()} == {
        "North": 3,
        "South": 3,
        "(blank)": 1,
    }


def test_by_owner_and_by_store_only_when_the_columns_have_values():
    leads = LEADS.assign(owner=None).drop(columns=["store"])
    kpis = compute_kpis(leads, HOURS, AS_OF)
    assert "by_owner" not in kpis
    assert "by_store" not in kpis
    assert kpis["now"]["by_owner"] == {"(blank)": kpis["now"]["by_owner"]["(blank)"]}


def test_now_counts_cover_every_open_lead(kpis):
    now = kpis["now"]
    # L1-L5, L7 and the September L9; the stalled flag on lost L8 does not count.
    assert (now["open"], now["overdue"], now["due_soon"], now["stalled"]) == (7, 3, 1, 2)
    assert now["median_days_in_status"] == 4.0
    assert now["by_owner"]["Ann"] == {
        "open": 3, "overdue": 0, "due_soon": 0, "stalled": 0, "median_days_in_status": 1.0
    }
    assert now["by_owner"]["Ben"]["open"] == 3
    assert now["by_owner"]["Ben"]["overdue"] == 2
    assert now["by_owner"]["Ben"]["stalled"] == 2
    assert now["by_owner"]["Ben"]["due_soon"] == 1
    assert now["by_owner"]["Cara"]["overdue"] == 1
    assert list(now["by_status"]) == list(OPEN_STATUSES)
    contacted = now["by_status"]["Contacted"]
    assert (contacted["open"], contacted["overdue"], contacted["stalled"]) == (2, 1, 1)
    assert contacted["median_days_in_status"] == 11.0
    assert now["by_status"]["New"]["open"] == 1  # a blank status is New
    assert now["by_status"]["Offer sent"] == {
        "open": 0, "overdue": 0, "due_soon": 0, "stalled": 0, "median_days_in_status": None
    }


def test_a_lost_lead_whose_furthest_stage_is_no_show_counts_as_a_no_show():
    rows = [
        lead("L1", "2026-11-16 10:00", None, "2026-11-18 10:00", "chat", "Ann", None, "Lost",
             stage("No show"), "2026-11-19 10:00", None),
        lead("L2", "2026-11-16 10:00", None, "2026-11-18 10:00", "chat", "Ann", None,
             "Offer sent", stage("Offer sent"), "2026-11-19 10:00", None),
    ]
    assert compute_kpis(frame(rows), HOURS, AS_OF)["overall"]["show_rate"] == 0.5


def test_empty_leads_give_zero_counts_and_no_rates():
    kpis = compute_kpis(frame([]), HOURS, AS_OF)
    assert kpis["overall"]["leads"] == 0
    assert all(kpis["overall"][rate] is None for rate in RATES)
    assert kpis["overall"]["median_first_response_min"] is None
    assert kpis["by_source"] == {}
    assert kpis["now"]["open"] == 0
    json.dumps(kpis)


# --- property: whatever the frame, the numbers stay sane ----------------------------------------

moments = st.datetimes(min_value=dt.datetime(2026, 9, 1), max_value=dt.datetime(2026, 12, 1))
offsets = st.none() | st.integers(min_value=-60, max_value=3 * 24 * 60).map(
    lambda m: dt.timedelta(minutes=m)
)


@st.composite
def random_leads(draw):
    rows = []
    for i in range(draw(st.integers(min_value=0, max_value=15))):
        received = draw(st.none() | moments)
        base = received or AS_OF

        def plus(offset, base=base):
            return None if offset is None else base + offset

        rows.append(
            {
                "row": i + 2,
                "lead_id": f"L{i}",
                "received_at": received,
                "first_response_at": plus(draw(offsets)),
                "appointment_at": plus(draw(offsets)),
                "channel": draw(st.sampled_from([*CHANNEL_CLASSES, None])),
                "source": None,
                "owner": draw(st.sampled_from(["Ann", "Ben", "", None])),
                "store": draw(st.sampled_from(["North", None])),
                "status": draw(st.sampled_from([*STATUS_ORDER, None, "On hold"])),
                "furthest": draw(st.integers(min_value=0, max_value=len(STATUS_ORDER) - 2)),
                "status_since": plus(draw(offsets)),
                "due": None,
                "overdue": draw(st.booleans()),
                "due_soon": draw(st.booleans()),
                "stalled": draw(st.booleans()),
                "sla_deadline": plus(draw(offsets)),
            }
        )
    return frame(rows)


def all_metrics(kpis):
    yield kpis["overall"]
    for key in ("by_source", "by_owner", "by_store"):
        yield from kpis.get(key, {}).values()


@settings(max_examples=60, deadline=None)
@given(random_leads(), st.integers(min_value=1, max_value=60))
def test_rates_are_fractions_and_groups_add_up(leads, window_days):
    kpis = compute_kpis(leads, HOURS, AS_OF, window_days)
    assert json.loads(json.dumps(kpis)) == kpis
    for metrics in all_metrics(kpis):
        for rate in RATES:
            assert metrics[rate] is None or 0.0 <= metrics[rate] <= 1.0
        minutes = metrics["median_first_response_min"]
        assert minutes is None or minutes >= 0
    total = kpis["overall"]["leads"]
    assert sum(m["leads"] for m in kpis["by_source"].values()) == total
    for key in ("by_owner", "by_store"):
        if key in kpis:
            assert sum(m["leads"] for m in kpis[key].values()) == total
    now = kpis["now"]
    assert sum(c["open"] for c in now["by_owner"].values()) == now["open"]
    assert sum(c["open"] for c in now["by_status"].values()) == now["open"]
    assert_charts_point_at_data(kpi_sheet(kpis))


# --- the KPI sheet ------------------------------------------------------------------------------

RANGE = re.compile(r"^([A-Z]+)(\d+):([A-Z]+)(\d+)$")


def column_index(letters):
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


def cells(sheet, reference):
    first_col, first_row, last_col, last_row = RANGE.match(reference).groups()
    assert first_col == last_col, reference
    assert 1 <= int(first_row) <= int(last_row) <= len(sheet.rows), reference
    out = []
    for r in range(int(first_row), int(last_row) + 1):
        row = sheet.rows[r - 1]
        i = column_index(first_col)
        out.append(row[i] if i < len(row) else None)
    return out


def is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_charts_point_at_data(sheet):
    assert len(sheet.charts) >= 2
    for chart in sheet.charts:
        categories = cells(sheet, chart.categories)
        assert categories and all(isinstance(c, str) and c for c in categories)
        for series in chart.series:
            values = cells(sheet, series.values)
            assert len(values) == len(categories)
            if chart.percent_axis:  # a rate with nothing to divide by is a gap, not 0 %
                assert all(v is None or is_number(v) for v in values)
            else:
                assert all(is_number(v) for v in values)
        # The row above the data is the table's bold header.
        first_row = int(RANGE.match(chart.categories).group(2))
        assert first_row - 1 in sheet.bold_rows


def test_kpi_sheet_charts_point_at_the_table_cells(kpis):
    sheet = kpi_sheet(kpis)
    assert sheet.name == "KPI"
    assert_charts_point_at_data(sheet)
    titles = [c.title for c in sheet.charts]
    assert titles == ["Leads by source", "SLA met by source", "Open and overdue by owner"]
    leads, sla, owners = sheet.charts
    assert cells(sheet, leads.categories) == ["Chat", "Phone", "Form / portal", "Email", "Walk-in"]
    assert cells(sheet, leads.series[0].values) == [2, 2, 1, 1, 1]
    assert sla.percent_axis
    assert cells(sheet, sla.series[0].values) == [1.0, 0.5, None, 0.0, 1.0]
    assert cells(sheet, owners.categories) == ["Ann", "Ben", "Cara"]
    assert [s.title for s in owners.series] == ["Open", "Overdue"]
    assert cells(sheet, owners.series[1].values) == [0, 2, 1]
    assert {c.anchor for c in sheet.charts} == {"Q3", "Q20", "Q37"}


def test_kpi_sheet_header_states_window_and_computed_time(kpis):
    sheet = kpi_sheet(kpis)
    assert sheet.rows[0][0] == "forecourt KPI"
    assert sheet.rows[1][0] == (
        "Window: 2026-10-24 12:00 – 2026-11-23 12:00 (30 days) · computed 2026-11-23 12:00"
    )
    assert 1 in sheet.bold_rows


FORMAT_OF_HEADER = {
    "Leads": "0",
    "Median first response (min)": "0.0",
    "SLA met": "0.0%",
    "Contact rate": "0.0%",
    "Appointment rate": "0.0%",
    "Show rate": "0.0%",
    "Win rate": "0.0%",
    "Open": "0",
    "Overdue": "0",
    "Due soon": "0",
    "Stalled": "0",
    "Median days in status": "0.0",
}


def test_each_column_letter_holds_one_kind_of_number(kpis):
    sheet = kpi_sheet(kpis)
    seen = set()
    for r in sorted(sheet.bold_rows):
        for i, header in enumerate(sheet.rows[r - 1]):
            if header in FORMAT_OF_HEADER:
                letter = chr(ord("A") + i)
                assert sheet.formats[letter] == FORMAT_OF_HEADER[header], (r, header)
                seen.add(header)
    assert seen == set(FORMAT_OF_HEADER)
    for letter in "DEFGH":
        for row in sheet.rows:
            i = column_index(letter)
            value = row[i] if i < len(row) else None
            assert value is None or isinstance(value, str) or 0 <= value <= 1


def test_kpi_sheet_tables_in_order(kpis):
    sheet = kpi_sheet(kpis)
    left = [row[0] for row in sheet.rows if row and row[0]]
    for table in ("Overall", "By source", "By owner", "By store"):
        assert table in left
    assert left.index("Overall") < left.index("By source") < left.index("By owner")
    assert "(no store)" in left
    right = [row[9] for row in sheet.rows if len(row) > 9 and row[9]]
    assert right[0].startswith("Open now: all open leads")  # not just the window
    assert right[1:5] == ["Open now", "All open leads", "Open now by owner", "Ann"]
    assert "By status" in right and "Attempting contact" in right


def test_bold_rows_hold_headers_only(kpis):
    # Bold is per row: a table header must never share its row with the data of its neighbour.
    sheet = kpi_sheet(kpis)
    for r in sheet.bold_rows:
        assert not any(is_number(v) for v in sheet.rows[r - 1]), sheet.rows[r - 1]


def test_kpi_sheet_survives_a_json_round_trip(kpis):
    assert kpi_sheet(json.loads(json.dumps(kpis))) == kpi_sheet(kpis)


def test_empty_tables_get_a_none_row_so_chart_ranges_stay_valid():
    sheet = kpi_sheet(compute_kpis(frame([]), HOURS, AS_OF))
    assert_charts_point_at_data(sheet)
    for chart in sheet.charts:
        assert cells(sheet, chart.categories) == ["(none)"]
        for series in chart.series:
            assert cells(sheet, series.values) == [0]


@pytest.mark.parametrize(
    ("language", "title", "leads", "new", "chart"),
    [
        ("de", "forecourt Kennzahlen", "Anfragen", "Neu", "Anfragen nach Quelle"),
        ("pl", "forecourt wskaźniki", "Zapytania", "Nowy", "Zapytania według źródła"),
    ],
)
def test_kpi_sheet_is_localised(kpis, language, title, leads, new, chart):
    sheet = kpi_sheet(kpis, language)
    assert sheet.rows[0][0] == title
    assert sheet.rows[0][0].startswith("forecourt")
    words = {value for row in sheet.rows for value in row if isinstance(value, str)}
    assert {leads, new} <= words
    assert "Leads" not in words and "Win rate" not in words
    assert sheet.charts[0].title == chart
    assert sheet.charts[0].series[0].title == leads
    assert_charts_point_at_data(sheet)


# --- Issues and Log ------------------------------------------------------------------------------

COMPUTED = dt.datetime(2026, 11, 23, 12, 0)


def test_issues_link_to_their_cell_and_quote_sheet_names():
    issues = [
        make_issue("missing-source", "Leads", 7, "C", "no source"),
        make_issue("bad-phone", "Dealer's Leads", 3, "B", "not a number", value="=1+1"),
        make_issue("bad-email", "Meine Anfragen", 12, "R", "not an e-mail", value="@home"),
        make_issue("missing-tab", "Stock", None, None, "no Stock tab"),
    ]
    sheet = issues_sheet(issues, COMPUTED)
    assert sheet.name == "Issues"
    assert sheet.rows[0][0] == "forecourt issues"
    assert "2026-11-23 12:00" in sheet.rows[1][0]
    header = sheet.rows[sheet.freeze_row - 1]
    assert header == ["Sheet", "Cell", "Severity", "Code", "Message", "Value"]
    assert sheet.freeze_row in sheet.bold_rows
    first = sheet.freeze_row + 1
    assert sheet.links == {
        (first, "B"): "'Leads'!C7",
        (first + 1, "B"): "'Dealer''s Leads'!B3",
        (first + 2, "B"): "'Meine Anfragen'!R12",
    }
    assert sheet.rows[first - 1] == ["Leads", "C7", "error", "missing-source", "no source", None]
    assert sheet.rows[first][5] == "=1+1"  # text stays text; the writer never makes a formula
    assert sheet.rows[first + 1][5] == "@home"
    assert sheet.rows[first + 2][1] is None


def test_issues_sheet_is_localised():
    sheet = issues_sheet([make_issue("missing-source", "Anfragen", 2, "D", "x")], COMPUTED, "de")
    assert sheet.rows[0][0].startswith("forecourt")
    assert sheet.rows[sheet.freeze_row - 1][:3] == ["Blatt", "Zelle", "Schwere"]
    assert sheet.rows[sheet.freeze_row][2] == "Fehler"


def test_log_sheet_explains_each_assignment():
    entries = [
        (5, "L-0005", "Ann", False, "rotation: assigned longest ago", []),
        (6, "L-0006", "Dave", True, "nobody eligible", [("Ben", "inactive"),
                                                        ("Cara", "at cap (5 open leads)")]),
    ]
    sheet = log_sheet(entries, COMPUTED)
    assert sheet.name == "Log"
    assert sheet.rows[0][0] == "forecourt log"
    header = sheet.rows[sheet.freeze_row - 1]
    assert header == ["Row", "Lead ID", "Owner", "Fallback", "Why", "Skipped"]
    body = sheet.rows[sheet.freeze_row:]
    assert body[0] == [5, "L-0005", "Ann", "no", "rotation: assigned longest ago", None]
    assert body[1][3] == "yes"
    assert body[1][5] == "Ben: inactive; Cara: at cap (5 open leads)"
    assert set(sheet.widths) >= set("ABCDEF")


@settings(max_examples=60, deadline=None)
@given(random_leads(), st.integers(min_value=1, max_value=60))
def test_each_group_has_the_metrics_of_its_leads_alone(leads, window_days):
    """Groups are computed together in one pass; each must equal its own leads computed on
    their own, and the groups come biggest first (by source: in channel order)."""
    kpis = compute_kpis(leads, HOURS, AS_OF, window_days)
    start = AS_OF - dt.timedelta(days=window_days)
    window = leads[(leads["received_at"] > start) & (leads["received_at"] <= AS_OF)]
    for key, column in (("by_source", "channel"), ("by_owner", "owner"), ("by_store", "store")):
        if key not in kpis:
            continue
        names = window[column].where(window[column].fillna("") != "", BLANK)
        assert set(kpis[key]) == set(names)
        for name, metrics in kpis[key].items():
            alone = compute_kpis(window[names == name], HOURS, AS_OF, window_days)
            assert metrics == alone["overall"], (key, name)
        if key != "by_source":
            sizes = [m["leads"] for name, m in kpis[key].items() if name != BLANK]
            assert sizes == sorted(sizes, reverse=True)
    now = kpis["now"]
    status = leads["status"].fillna("New")
    open_ = leads[~status.isin(["Won", "Lost"])]
    owners = open_["owner"].where(open_["owner"].fillna("") != "", BLANK)
    assert set(now["by_owner"]) == set(owners)
    for name, counts in now["by_owner"].items():
        alone = compute_kpis(open_[owners == name], HOURS, AS_OF, window_days)["now"]
        assert counts == {k: alone[k] for k in counts}, name
    for name, counts in now["by_status"].items():
        alone = compute_kpis(open_[status[open_.index] == name], HOURS, AS_OF, window_days)
        assert counts == {k: alone["now"][k] for k in counts}, name
