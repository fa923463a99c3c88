"""The main job: every open lead gets an owner, a next action and a due time; late work is
flagged; the KPI, Issues and Log sheets are rebuilt; the dealer's sheets are edited in place.

``plan_run`` is pure (book + memory + now -> plan + summary); ``run`` adds the file work: lock
check, reading, writing atomically, saving the memory. A person's entry always wins: the engine
fills empty cells and later recomputes only values it wrote itself that nobody changed since.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecourt import locks
from forecourt import memory as mem
from forecourt.background import Background
from forecourt.book import Book, load_book
from forecourt.errors import CannotWrite
from forecourt.issues import Issue, make_issue
from forecourt.plan import (
    CF_MARKER,
    CellWrite,
    ColumnWrites,
    ConditionalFormat,
    Plan,
    SheetEdit,
)
from forecourt.sync.base import column_index, column_letter
from forecourt.validators.vocabulary import (
    CHANNEL_CLASSES,
    CLOSED_STATUSES,
    LEAD_FIELDS,
    STATUS_ORDER,
    STATUSES,
    STOCK_FIELDS,
)

if TYPE_CHECKING:
    from forecourt.sync.base import Tabs
    from forecourt.sync.xlsx import PendingTabs

ENGINE_FIELDS = ("lead_id", "owner", "next_action", "due", "status_since", "state")
RECOMPUTED = ("next_action", "due")  # refreshed while nobody has changed them
CONTACTED = STATUS_ORDER.index("Contacted")
ATTEMPTING = STATUS_ORDER.index("Attempting contact")
APPOINTMENT_SET = STATUS_ORDER.index("Appointment set")
LOG_KEEP = 1000
TEMP_STATE_PREFIX = locks.TEMP_PREFIX
WIDTHS = {"lead_id": 12, "owner": 14, "next_action": 40, "due": 17, "status_since": 17,
          "state": 16}
MAX_WIDTH = 60  # a column forecourt adds is as wide as its longest text, up to this


def _width(fld: str, column: pd.Series) -> float:
    """The width of a column forecourt adds: its default, or wide enough for its longest text
    (the next actions run to 80 characters and more)."""
    if column.dtype != object or not len(column):
        return WIDTHS[fld]
    longest = column.dropna().map(lambda v: len(str(v))).max()
    return float(min(max(WIDTHS[fld], (longest or 0) + 2), MAX_WIDTH))


STATE_WORDS = {
    "overdue": {"en": "overdue", "de": "überfällig", "pl": "zaległe"},
    "due soon": {"en": "due soon", "de": "bald fällig", "pl": "wkrótce"},
    "stalled": {"en": "stalled", "de": "stockt", "pl": "utknęło"},
    "check data": {"en": "check data", "de": "Daten prüfen", "pl": "sprawdź dane"},
}
COLOURS = {"overdue": ("FFC7CE", "9C0006"), "due soon": ("FFEB9C", "9C5700"),
           "stalled": ("E7E6E6", "595959")}


@dataclass
class Outcome:
    """What a run decided: the plan for the backend and the numbers for people."""

    plan: Plan
    summary: dict[str, Any]
    memory: mem.Memory
    leads: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)


def stable_id(*parts: Any) -> str:
    """A short id from what identifies the inquiry; it is written back, so it stays put."""
    digest = hashlib.sha1("|".join("" if p is None or p is pd.NaT else str(p)
                                   for p in parts).encode()).digest()
    return "L-" + base64.b32encode(digest).decode()[:7]


def _minute(value: Any) -> str:
    """A cell value as the text the memory compares (dates to the minute)."""
    if isinstance(value, str):
        return value.strip()
    if value is None or value is pd.NaT or value != value:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    return str(value).strip()


def _minutes(series: pd.Series) -> pd.Series:
    """:func:`_minute` for a whole column (vectorised for datetime columns)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        text = np.datetime_as_string(series.to_numpy(dtype="datetime64[m]"), unit="m")
        return pd.Series(np.where(text == "NaT", "", text), index=series.index, dtype=object)
    return pd.Series([v.strip() if v.__class__ is str else "" if v is None else _minute(v)
                      for v in series.tolist()], index=series.index, dtype=object)


def assign_ids(leads: pd.DataFrame) -> pd.Series:
    """Lead ids for rows without one (others keep theirs); unique within the sheet."""
    ids = leads["lead_id"].copy()
    taken = set(ids.dropna())
    missing = leads.loc[ids.isna(), ["received_at", "phone", "email", "name", "source"]]
    made = []
    for parts in missing.itertuples(index=False, name=None):
        new = stable_id(*parts)
        candidate, k = new, 2
        while candidate in taken:
            candidate, k = f"{new}-{k}", k + 1
        made.append(candidate)
        taken.add(candidate)
    if made:
        ids[missing.index] = made
    return ids


def evidence_stage(leads: pd.DataFrame) -> pd.Series:
    """The furthest stage the workbook itself proves (status, appointment, contact times)."""
    index = {s: i for i, s in enumerate(STATUS_ORDER) if s != "Lost"}
    stage = leads["status"].map(lambda s: index.get(s, 0) if isinstance(s, str) else 0)
    stage = stage.astype("int64")
    stage = stage.where(~leads["first_response_at"].notna(), stage.clip(lower=ATTEMPTING))
    stage = stage.where(~leads["last_contact_at"].notna(), stage.clip(lower=CONTACTED))
    stage = stage.where(~leads["appointment_at"].notna(), stage.clip(lower=APPOINTMENT_SET))
    return stage


def _status_since_estimates(leads: pd.DataFrame) -> pd.Series:
    """Without history: a New lead is new since it came in; any other status since the last
    contact (else the first response, else when it came in)."""
    later = leads["last_contact_at"].fillna(leads["first_response_at"]) \
        .fillna(leads["received_at"])
    is_new = leads["status"].isin(["New"]) | leads["status"].isna()
    return leads["received_at"].where(is_new, later)


def _closed_formula(status_col: str | None, first_row: int) -> str:
    if status_col is None:
        return "FALSE"
    words = sorted({w for s in CLOSED_STATUSES for ws in STATUSES[s].values() for w in ws}
                   | set(CLOSED_STATUSES), key=str.lower)
    ref = f"TRIM(${status_col}{first_row})"
    return "OR(" + ",".join(f'{ref}="{w}"' for w in words) + ")"


def _status_formula(status_col: str | None, first_row: int, status: str) -> str:
    if status_col is None:
        return "TRUE" if status == "New" else "FALSE"
    words = sorted({w for ws in STATUSES[status].values() for w in ws} | {status}, key=str.lower)
    ref = f"TRIM(${status_col}{first_row})"
    extra = [f'{ref}=""'] if status == "New" else []
    return "OR(" + ",".join(extra + [f'{ref}="{w}"' for w in words]) + ")"


def highlight_rules(cols: dict[str, str], first_row: int, last_row: int, last_col: str,
                    settings: Any, lang: str = "en") -> list[ConditionalFormat]:
    """Live highlighting: formulas on the due, status and status-since cells, so rows turn red
    as time passes and clear when a person closes the lead or moves the due date.

    "Due soon" is one business hour ahead, which a formula cannot count: amber is a due
    within the next clock hour, or one the run found due soon (its State says so) that has
    not passed yet, so colour and State agree at the close of the day too."""
    sqref = f"A{first_row}:{last_col}{last_row}"
    due, since, status = cols["due"], cols["status_since"], cols.get("status")
    open_ = f"NOT({_closed_formula(status, first_row)})"
    soon_word = STATE_WORDS["due soon"][lang].replace('"', '""')
    said_soon = f'ISNUMBER(SEARCH("{soon_word}",${cols["state"]}{first_row}))' \
        if "state" in cols else "FALSE"
    rules = [
        ConditionalFormat(sqref, f'AND(ISNUMBER(${due}{first_row}),${due}{first_row}<NOW(),'
                                 f'{open_},{CF_MARKER})', *COLOURS["overdue"], "overdue"),
        ConditionalFormat(sqref, f'AND(ISNUMBER(${due}{first_row}),${due}{first_row}>=NOW(),'
                                 f'OR(${due}{first_row}<NOW()+{settings.due_soon_hours}/24,'
                                 f'{said_soon}),{open_},{CF_MARKER})', *COLOURS["due soon"],
                          "due soon"),
    ]
    for st, days in settings.stalled_days.items():
        rules.append(ConditionalFormat(
            sqref, f'AND(ISNUMBER(${since}{first_row}),{_status_formula(status, first_row, st)},'
                   f'NOW()-${since}{first_row}>{days},{CF_MARKER})',
            *COLOURS["stalled"], "stalled"))
    return rules


def plan_run(book: Book, memory: mem.Memory, as_of: dt.datetime) -> Outcome:
    """Decide every engine-owned cell of the leads (and stock) tab, and the generated sheets."""
    from forecourt.rules import sheets
    from forecourt.rules.kpi import compute_kpis
    from forecourt.rules.routing import assign_owners
    from forecourt.rules.sla import next_actions, opening_hours, waiting_buyers

    settings, lang = book.settings, book.language
    info = book.tabs["leads"]
    assert info is not None
    leads = book.leads.copy()
    hours = opening_hours(settings)
    now = pd.Timestamp(as_of)
    issues = list(book.issues)
    error_rows = {i.row for i in issues if i.severity == "error" and i.sheet == info.sheet}

    # Columns: the dealer's, then ours added at the right in a fixed order.
    cols = dict(info.columns)
    next_col = column_index(info.last_column) + 1
    header_writes = []
    new_cols = {}
    for fld in ENGINE_FIELDS:
        if fld not in cols:
            cols[fld] = column_letter(next_col)
            new_cols[fld] = cols[fld]
            header_writes.append(CellWrite(info.header_row, cols[fld], LEAD_FIELDS[fld][lang][0]))
            next_col += 1

    leads["lead_id"] = assign_ids(leads)
    known = leads["status"].notna() | leads["raw_status"].isna()
    leads["status"] = leads["status"].where(leads["status"].notna() | leads["raw_status"].notna(),
                                            "New")
    is_open = ~leads["status"].isin(CLOSED_STATUSES)

    lead_ids = leads["lead_id"].tolist()
    written = memory.written.reindex(pd.Index(lead_ids, dtype=object))

    cell_texts: dict[str, np.ndarray] = {}

    def cell_text(fld: str) -> np.ndarray:
        """What the workbook's cell holds now, as the memory compares it ("" when empty)."""
        if fld not in cell_texts:
            cell_texts[fld] = _minutes(book.leads[fld]).to_numpy(dtype=object) \
                if fld in book.leads else np.full(len(leads), "", dtype=object)
        return cell_texts[fld]

    def persons(fld: str) -> pd.Series:
        """True where the cell holds a person's entry (anything the engine did not write)."""
        cells = book.leads
        current = cell_text(fld)
        wrote = written[fld].to_numpy(dtype=object)
        mine = (current == "") | (current == wrote)
        raw = cells.get(f"raw_{fld}")
        if raw is not None:  # an unreadable entry is still somebody's entry
            mine &= ~(raw.notna().to_numpy() & (current == ""))
        return pd.Series(~mine, index=leads.index)

    person: dict[str, pd.Series] = {"owner": persons("owner")}
    # Owners: fill the empty ones on open leads; a person's choice stays.
    needs_owner = is_open & leads["owner"].isna()
    team_names = list(book.team["name"].dropna()) if len(book.team) else []
    assignments = []
    if team_names:
        assignments = assign_owners(leads, book.stock, book.team, settings, memory.rotation,
                                    needs_owner)
    if assignments:
        at = [a.index for a in assignments]
        leads.loc[at, "owner"] = [a.owner for a in assignments]
        # By position: a lead id copied onto two rows repeats in the index.
        written.iloc[leads.index.get_indexer(at), written.columns.get_loc("fallback")] = \
            ["1" if a.fallback else "0" for a in assignments]
    for a in assignments:
        memory.assign(str(a.lead_id), int(a.row), a.owner, bool(a.fallback), a.reason,
                      a.skipped)
    if not team_names and needs_owner.any():
        issues.append(make_issue("no-owner", book.tabs["leads"].sheet, None, None,
                                 "no Team tab with people: open leads cannot be assigned"))

    # Status history: status since, furthest stage.
    stage = evidence_stage(leads).to_numpy()
    estimate = _status_since_estimates(leads).fillna(now)
    rec = memory.status.reindex(pd.Index(lead_ids, dtype=object))
    status = leads["status"].to_numpy(dtype=object)
    has_rec = rec["since"].notna().to_numpy()
    rec_since = rec["since"].to_numpy(dtype="datetime64[us]")
    same = has_rec & (rec["status"].fillna("\0").to_numpy(dtype=object)
                      == leads["status"].fillna("\0").to_numpy(dtype=object))
    moved = has_rec & ~same
    last = leads["last_contact_at"].to_numpy(dtype="datetime64[us]")
    stamp = np.datetime64(as_of, "us")
    moved_since = np.where((last > rec_since) & (last <= stamp), last, stamp)
    from_book = leads["status_since"].fillna(estimate).to_numpy(dtype="datetime64[us]")
    since = np.where(same, rec_since, np.where(moved, moved_since, from_book))
    furthest = np.maximum(stage, rec["furthest"].fillna(0).to_numpy(dtype="int64"))
    memory.new_history += [(lead_ids[k], status[k], as_of) for k in np.flatnonzero(moved)]
    memory.status = mem.merge(memory.status, pd.DataFrame(
        {"status": status, "since": since, "furthest": furthest},
        index=pd.Index(lead_ids, dtype=object, name="lead_id")))
    leads["status_since_new"] = pd.Series(since, index=leads.index, dtype="datetime64[us]")
    leads["furthest"] = pd.Series(furthest, index=leads.index, dtype="int64")

    # Next action and due from the SLA table.
    sla = next_actions(leads, book.stock, settings, lang, as_of)
    final: dict[str, pd.Series] = {}
    for fld in RECOMPUTED:
        person[fld] = persons(fld)
        current = leads[fld]
        final[fld] = current.where(person[fld], sla[fld])

    due = pd.to_datetime(final["due"], errors="coerce")
    in_one_hour = pd.Timestamp(hours.add(as_of, settings.due_soon_hours * 60))
    overdue = is_open & due.notna() & (due < now)
    due_soon = is_open & due.notna() & (due >= now) & (due < in_one_hour)
    limits = leads["status"].map(settings.stalled_days)
    age_days = (now - leads["status_since_new"]) / pd.Timedelta(days=1)
    stalled = is_open & limits.notna() & (age_days > limits)
    flagged_rows = leads["row"].isin(error_rows) | ~known  # an unreadable status too
    fallback = pd.Series(written["fallback"].to_numpy(dtype=object) == "1",
                         index=leads.index) & ~person["owner"]
    for row, owner in leads.loc[fallback, ["row", "owner"]].itertuples(index=False):
        issues.append(make_issue("no-eligible-owner", info.sheet, int(row),
                                 cols["owner"],
                                 f"nobody on the Team tab could take this lead; it went to "
                                 f"{owner} (fallback): see the Log sheet", owner, "owner"))

    masks = [(STATE_WORDS[w][lang], m.to_numpy(dtype=bool)) for w, m in
             (("overdue", overdue), ("due soon", due_soon), ("stalled", stalled),
              ("check data", flagged_rows))]
    code = np.zeros(len(leads), dtype=np.int64)
    for bit, (_word, m) in enumerate(masks):
        code |= m.astype(np.int64) << bit
    labels = {c: ", ".join(w for b, (w, _m) in enumerate(masks) if c >> b & 1) or None
              for c in np.unique(code).tolist()}
    state = pd.Series([labels[c] for c in code.tolist()], index=leads.index, dtype=object)

    values = {
        "lead_id": leads["lead_id"],
        "owner": leads["owner"],
        "next_action": final["next_action"],
        "due": due,
        "status_since": leads["status_since_new"],
        "state": state,
    }
    writes = list(header_writes)
    column_writes: list[ColumnWrites] = []
    no_person = np.zeros(len(leads), dtype=bool)
    rows = leads["row"].astype(int).to_numpy()
    for fld in ENGINE_FIELDS:
        new = _minutes(values[fld]).to_numpy(dtype=object)
        current = cell_text(fld)
        is_person = person[fld].to_numpy(dtype=bool) if fld in person else no_person
        # a new column gets every non-empty value; an existing one only what differs
        todo = np.flatnonzero(((new != "") if fld in new_cols else (new != current))
                              & ~is_person)
        column = values[fld]
        if pd.api.types.is_datetime64_any_dtype(column):  # to the minute
            typed = column.to_numpy(dtype="datetime64[m]")[todo].astype("datetime64[us]") \
                .astype(object)
        else:
            typed = column.to_numpy(dtype=object)[todo]
        typed[pd.isna(typed)] = None
        column_writes.append(ColumnWrites(cols[fld], rows[todo].tolist(), typed.tolist()))
        if fld in mem.WRITTEN_FIELDS:
            written[fld] = np.where(~is_person & (new != ""), new, None)
    memory.written = mem.merge(memory.written, written)

    first_row = info.header_row + 1
    last_row = max(int(leads["row"].max()) if len(leads) else first_row, first_row) + 1000
    last_col = column_letter(next_col - 1)
    edit = SheetEdit(info.sheet, writes,
                     highlight_rules(cols, first_row, last_row, last_col, settings, lang),
                     {letter: _width(f, values[f]) for f, letter in new_cols.items()},
                     column_writes)
    plan = Plan(edits=[edit])

    stock_info = book.tabs.get("stock")
    if stock_info is not None and len(book.stock):
        waiting = waiting_buyers(leads, book.stock)
        s_cols = dict(stock_info.columns)
        s_writes = []
        if "waiting" not in s_cols:
            s_cols["waiting"] = column_letter(column_index(stock_info.last_column) + 1)
            s_writes.append(CellWrite(stock_info.header_row, s_cols["waiting"],
                                      STOCK_FIELDS["waiting"][lang][0]))
        for row, n, cur in zip(book.stock["row"].tolist(), waiting.tolist(),
                               book.stock["waiting"].tolist(), strict=True):
            if (not n and cur != cur) or (n and cur == n):  # cur is NaN when empty
                continue
            s_writes.append(CellWrite(int(row), s_cols["waiting"], int(n) if n else None))
        if s_writes:
            plan.edits.append(SheetEdit(stock_info.sheet, s_writes, [],
                                        {s_cols["waiting"]: 14}
                                        if "waiting" not in stock_info.columns else {}))

    # KPI, Issues and Log sheets.
    leads["due"] = due
    leads["status_since"] = leads["status_since_new"]
    leads["overdue"], leads["due_soon"], leads["stalled"] = overdue, due_soon, stalled
    leads["sla_deadline"] = _first_response_deadline(leads, settings, hours)
    kpis = compute_kpis(leads, hours, as_of, settings.kpi_window_days, columns=info.columns)
    log_entries = [(a.row, a.lead_id, a.owner, a.fallback, a.reason, list(a.skipped))
                   for a in (memory.assignments + memory.new_assignments)[-LOG_KEEP:]]
    plan.sheets = [sheets.kpi_sheet(kpis, lang),
                   sheets.issues_sheet(issues, as_of, lang),
                   sheets.log_sheet(log_entries, as_of, lang)]

    summary = {
        "file": book.source,
        "as_of": as_of.strftime("%Y-%m-%d %H:%M"),
        "language": lang,
        "leads": len(leads),
        "stock": len(book.stock),
        "open": int(is_open.sum()),
        "overdue": int(overdue.sum()),
        "due_soon": int(due_soon.sum()),
        "stalled": int(stalled.sum()),
        "assigned": len(assignments),
        "fallback_assigned": sum(a.fallback for a in assignments),
        "cells_written": sum(len(c.rows) for c in column_writes),
        "columns_added": list(new_cols.values()),
        "errors": sum(i.severity == "error" for i in issues),
        "warnings": sum(i.severity == "warning" for i in issues),
        "issues": [i.to_dict() for i in issues],
        "kpi": kpis,
    }
    return Outcome(plan, summary, memory, leads, issues)


def _first_response_deadline(leads: pd.DataFrame, settings: Any, hours: Any) -> pd.Series:
    """When each lead's first-response SLA expires (for the KPI "SLA met")."""
    received = leads["received_at"].to_numpy(dtype="datetime64[us]")
    channel = leads["channel"].where(leads["channel"].isin(CHANNEL_CLASSES), "other") \
        .fillna("other").to_numpy(dtype=object)
    out = np.full(len(leads), np.datetime64("NaT"), dtype="datetime64[us]")
    for c in CHANNEL_CLASSES:
        rule = settings.rule(f"New lead, {c}")
        mask = channel == c
        if not mask.any():
            continue
        out[mask] = hours.add_many(received[mask], rule.minutes) if rule.clock == "business" \
            else received[mask] + np.timedelta64(rule.minutes, "m")
    return pd.Series(out, index=leads.index, dtype="datetime64[us]")


def _save_side_file(state_file: Path, side: Path, memory: mem.Memory, as_of: dt.datetime,
                    workbook: str, summary: str) -> None:
    """The memory, saved into a copy of the state file (replaced by the caller). A side file
    left by a run that was killed is garbage: it is replaced, never continued."""
    side.unlink(missing_ok=True)
    if state_file.exists():
        shutil.copy2(state_file, side)
    mem.save(side, memory, as_of=as_of, workbook=workbook, summary=summary, scratch=True)


_log = logging.getLogger("forecourt")


@dataclass
class RunResult:
    outcome: Outcome
    written: bool
    path: Path
    backup: Path | None
    state: Path | None


def run(path: Path | str, *, as_of: dt.datetime | None = None, out: Path | str | None = None,
        dry_run: bool = False, state: Path | str | None = None,
        progress: Callable[[str], None] | None = None,
        tabs: Tabs | PendingTabs | None = None) -> RunResult:
    """Run the engine on a workbook and write the result back (see the module docstring).

    ``tabs`` are ``path``'s values when the caller has read them already (or is reading them:
    :class:`~forecourt.sync.xlsx.PendingTabs`). The interpreter is left as it is (switch
    interval, garbage collector): the ``forecourt`` command tunes those for itself.
    """
    return _run(path, as_of=as_of, out=out, dry_run=dry_run, state=state, progress=progress,
                tabs=tabs)


def _run(path: Path | str, *, as_of: dt.datetime | None, out: Path | str | None,
         dry_run: bool, state: Path | str | None, progress: Callable[[str], None] | None,
         tabs: Tabs | PendingTabs | None) -> RunResult:
    """The file safety around :func:`_decide_and_write`: a read-only or open destination is
    refused, one run per destination at a time (the run lock), and what killed runs left
    beside it is removed. A dry run only reads: none of that."""
    from forecourt.sync.xlsx import PendingTabs, check_package
    from forecourt.sync.xlsx_write import TEMP_PREFIX, backup_path

    say = progress or (lambda _m: None)
    path = Path(path)
    dest = Path(out) if out else path
    state_file = Path(state) if state else mem.state_path(dest)
    if isinstance(tabs, PendingTabs):
        # While the workbook is still being read: pandera's first use (about 0.1 s; it saves
        # most of that later, so only worth it while waiting). Not the memory: its frames
        # beside a big book's cells would raise the peak by ~40 MB.
        if not tabs.done():
            from forecourt.validators.validate import warm_up

            warm_up()
        tabs = tabs.result()  # raises what reading raised: missing, unreadable, ...
    elif tabs is None:
        check_package(path)
    # The cells go over in a box that _decide_and_write empties: a reference left in this
    # frame would keep a big book's values alive through the whole run (+55 MB at 100k leads).
    box: list[Tabs | None] = [tabs]
    del tabs
    if dry_run:
        return _decide_and_write(path, dest, state_file, as_of=as_of, dry_run=True, say=say,
                                 tabs=box, notes=[])
    # Only the destination: with --out elsewhere the input is only read, open or read-only.
    locks.check_writable(dest, state_file)
    locks.check_not_open(dest)
    lock = locks.take_run_lock(dest)
    try:
        notes = [lock.took_over] if lock.took_over else []
        if lock.waited:  # the run that held the lock may have replaced the book since it was read
            box = [None]
        bak = backup_path(dest)
        removed = locks.remove_debris(dest, [bak.with_name(TEMP_PREFIX + bak.name),
                                             state_file.with_name(TEMP_STATE_PREFIX
                                                                  + state_file.name)])
        if removed:
            notes.append(locks.removed_note(dest, removed))
        for note in notes:  # on stderr unless the program that called run() set up logging
            _log.warning("forecourt: %s", note)
        return _decide_and_write(path, dest, state_file, as_of=as_of, dry_run=False, say=say,
                                 tabs=box, notes=notes)
    finally:
        lock.release()


def _decide_and_write(path: Path, dest: Path, state_file: Path, *, as_of: dt.datetime | None,
                      dry_run: bool, say: Callable[[str], None], tabs: list[Tabs | None],
                      notes: list[str]) -> RunResult:
    from forecourt.sync.xlsx import read_tabs
    from forecourt.sync.xlsx_write import (
        Package,
        apply_plan_to_package,
        backup_path,
        replace_atomically,
    )

    say("reading")
    cells = tabs.pop()
    book = load_book(cells if cells is not None else read_tabs(path), as_of=as_of, progress=say)
    del cells  # the cells' values: the frames have what they hold
    as_of = book.as_of  # the clock in the Settings tab's time zone, unless given
    memory = mem.load(state_file)
    pkg = None
    if not dry_run:  # the leads sheet inflates in a second thread while the plan is made
        pkg = Package.read(path)
        part = pkg.sheets().get(book.tabs["leads"].sheet)  # type: ignore[union-attr]
        if part is not None:
            pkg.prefetch(part)
    say("deciding owners, next actions and due times")
    outcome = plan_run(book, memory, as_of)
    outcome.summary["notes"] = notes
    if pkg is None:
        return RunResult(outcome, False, dest, None, None)
    header_rows = {book.tabs[k].sheet: book.tabs[k].header_row for k in ("leads", "stock")
                   if book.tabs.get(k) is not None}
    del book  # the frames are not needed to write; free them for the big sheet
    outcome.leads = outcome.leads.iloc[0:0]
    # The memory is saved to a side file in a second thread (SQLite leaves the GIL while it
    # inserts) while the workbook is written. The workbook is renamed into place only once the
    # memory is saved, and the memory only after the workbook: a failure leaves both as they
    # were.
    pending_state = state_file.with_name(TEMP_STATE_PREFIX + state_file.name)
    saver = Background(_save_side_file, state_file, pending_state, outcome.memory, as_of,
                       str(dest), f"{outcome.summary['assigned']} assigned, "
                                  f"{outcome.summary['overdue']} overdue",
                       name="forecourt-memory")
    outcome.memory = mem.Memory()
    saved = keep_side = False

    def memory_saved() -> None:
        nonlocal saved
        try:
            saver.result()
        except (OSError, sqlite3.Error) as exc:
            raise CannotWrite(f"the memory {pending_state} could not be written ({exc}); "
                              f"{dest} was not changed.", path=state_file) from exc
        saved = True

    try:
        say("writing")
        parts = pkg.sheets()
        dealer_parts = {parts[e.sheet] for e in outcome.plan.edits if e.sheet in parts}
        generated = [s.name for s in outcome.plan.sheets]
        apply_plan_to_package(pkg, outcome.plan, header_rows, progress=say)
        outcome.plan = Plan()
        written = bool(pkg.changed) or dest != path
        # A rerun that only refreshes the generated sheets (their stamp, the KPIs) keeps the
        # backup of the last run that changed the dealer's own sheets.
        only_generated = written and dest == path and not pkg.changed & dealer_parts
        outcome.summary["changed_sheets"] = [] if not written else generated if only_generated \
            else sorted(n for n, part in parts.items() if part in pkg.changed
                        and n not in generated) + generated
        outcome.summary["only_generated"] = only_generated
        backup = None
        if written:
            try:
                replace_atomically(pkg, dest, backup=dest == path and not only_generated,
                                   before_replace=memory_saved)
            except OSError as exc:
                raise CannotWrite(f"{dest} could not be written ({exc}); it was not changed "
                                  "(is the disk full, or the folder read-only?).",
                                  path=dest) from exc
            backup = backup_path(dest) if dest == path and not only_generated else None
        if not saved:
            memory_saved()
        try:
            _replace_retrying(pending_state, state_file)
        except OSError as exc:
            keep_side = True
            raise CannotWrite(
                f"{dest} was written, but its memory could not replace {state_file} ({exc}): "
                f"is that file open in another program? The new memory is in {pending_state}; "
                "until it is in place, the next run takes the values this run wrote for a "
                "person's.", path=state_file) from exc
    finally:
        if not saved:  # failing already: let the saver finish before its file is removed
            with contextlib.suppress(BaseException):
                saver.result()
        if not keep_side:
            with contextlib.suppress(OSError):  # best effort: a later run replaces it anyway
                pending_state.unlink(missing_ok=True)
    return RunResult(outcome, written, dest, backup, state_file)


def _replace_retrying(src: Path, dst: Path, attempts: int = 5, pause: float = 0.2) -> None:
    """``os.replace``, tried a few times: on Windows a virus scanner or a sync client holds a
    file it has just seen for a moment, and the rename fails meanwhile."""
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
