"""The main job: every open lead gets an owner, a next action and a due time; late work is
flagged; the KPI, Issues and Log sheets are rebuilt; the dealer's sheets are edited in place.

:func:`plan_run` decides (book + memory + now -> plan + memory changes + summary) through the
steps of :mod:`forecourt.decide`, and changes none of its inputs. :func:`run` adds a backend
(:mod:`forecourt.sync.backend`: an .xlsx file, grids in memory...) and a memory store: it reads,
plans, applies the plan and commits, the memory only once the workbook is written. A person's
entry always wins: the engine fills empty cells and later recomputes only values it wrote itself
that nobody changed since.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecourt import memory as mem
from forecourt.book import Book, TabInfo, load_book
from forecourt.decide import (
    STATE_WORDS,
    Cells,
    assign_ids,
    cell_minutes,
    decide_dues,
    decide_history,
    decide_owners,
    decide_states,
    fallback_issues,
    first_response_deadline,
)
from forecourt.issues import Issue
from forecourt.plan import (
    Anchors,
    ColumnWrites,
    GeneratedSheet,
    Highlight,
    NewColumn,
    Plan,
    SheetEdit,
)
from forecourt.store import memory_store
from forecourt.sync.base import cell_text, column_index, column_letter
from forecourt.validators.vocabulary import (
    CLOSED_STATUSES,
    LEAD_FIELDS,
    STATUSES,
    STOCK_FIELDS,
)

if TYPE_CHECKING:
    from forecourt.sync.backend import Backend
    from forecourt.sync.base import Tabs
    from forecourt.sync.xlsx import PendingTabs

__all__ = ["COLOURS", "STATE_WORDS", "Outcome", "RunResult", "plan_run", "run"]

ENGINE_FIELDS = ("lead_id", "owner", "next_action", "due", "status_since", "state")
LOG_KEEP = 1000
WIDTHS = {"lead_id": 12, "owner": 14, "next_action": 40, "due": 17, "status_since": 17,
          "state": 16}
MAX_WIDTH = 60  # a column forecourt adds is as wide as its longest text, up to this
COLOURS = {"overdue": ("FFC7CE", "9C0006"), "due soon": ("FFEB9C", "9C5700"),
           "stalled": ("E7E6E6", "595959")}


def _width(fld: str, column: pd.Series) -> float:
    """The width of a column forecourt adds: its default, or wide enough for its longest text
    (the next actions run to 80 characters and more)."""
    if column.dtype != object or not len(column):
        return WIDTHS[fld]
    longest = column.dropna().map(lambda v: len(str(v))).max()
    return float(min(max(WIDTHS[fld], (longest or 0) + 2), MAX_WIDTH))


@dataclass
class Outcome:
    """What a run decided: the plan for the backends, what the memory should remember, and
    the numbers for people."""

    plan: Plan
    summary: dict[str, Any]
    changes: mem.MemoryChanges
    leads: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)


def _words(status: str) -> set[str]:
    return {w for ws in STATUSES[status].values() for w in ws} | {status}


def highlight_rules(cols: dict[str, str], first_row: int, last_row: int, last_col: str,
                    settings: Any, lang: str = "en") -> tuple[Highlight, ...]:
    """Live highlighting over the lead rows: overdue, due soon and one stalled rule per
    status with a limit (see :class:`~forecourt.plan.Highlight`).

    "Due soon" is one business hour ahead, which a spreadsheet formula cannot count: amber is
    a due within the next clock hour, or one the run found due soon (its State says so) that
    has not passed yet, so colour and State agree at the close of the day too."""
    closed = tuple(sorted(set().union(*(_words(s) for s in CLOSED_STATUSES)), key=str.lower))
    where = {"first_row": first_row, "last_row": last_row, "last_column": last_col,
             "due": cols["due"], "status_since": cols["status_since"],
             "status": cols.get("status"), "state": cols.get("state"), "closed": closed}
    rules = [Highlight("overdue", **where, fill=COLOURS["overdue"][0],
                       font=COLOURS["overdue"][1]),
             Highlight("due soon", **where, fill=COLOURS["due soon"][0],
                       font=COLOURS["due soon"][1], soon_hours=settings.due_soon_hours,
                       soon_word=STATE_WORDS["due soon"][lang])]
    for status, days in settings.stalled_days.items():
        words = tuple(sorted(_words(status), key=str.lower))
        rules.append(Highlight("stalled", **where, fill=COLOURS["stalled"][0],
                               font=COLOURS["stalled"][1], days=days,
                               statuses=("", *words) if status == "New" else words))
    return tuple(rules)


@dataclass(frozen=True)
class _LeadColumns:
    """The leads table's columns once ours are added at the right, in a fixed order."""

    cols: dict[str, str]
    new: dict[str, str]
    last: str


def _lead_columns(info: TabInfo) -> _LeadColumns:
    cols = dict(info.columns)
    next_col = column_index(info.last_column) + 1
    new = {}
    for fld in ENGINE_FIELDS:
        if fld not in cols:
            cols[fld] = new[fld] = column_letter(next_col)
            next_col += 1
    return _LeadColumns(cols, new, column_letter(next_col - 1))


def _lead_edit(info: TabInfo, table: _LeadColumns, leads: pd.DataFrame,
               values: dict[str, pd.Series], cells: Cells, person: dict[str, pd.Series],
               written: pd.DataFrame, settings: Any, lang: str) -> tuple[SheetEdit, int]:
    """The leads sheet's edit: new columns, then per engine column the cells whose value
    changes (a new column gets every non-empty value); and ``written`` (the memory's rows for
    these leads) updated to what the engine now owns. Returns the edit and the cell count."""
    keys = leads["lead_id"].to_numpy(dtype=object)
    rows = leads["row"].astype(int).to_numpy()
    no_person = np.zeros(len(leads), dtype=bool)
    columns = []
    for fld in ENGINE_FIELDS:
        new = cell_minutes(values[fld]).to_numpy(dtype=object)
        current = cells.text(fld)
        is_person = person[fld].to_numpy(dtype=bool) if fld in person else no_person
        todo = np.flatnonzero(((new != "") if fld in table.new else (new != current))
                              & ~is_person)
        column = values[fld]
        if pd.api.types.is_datetime64_any_dtype(column):  # to the minute
            typed = column.to_numpy(dtype="datetime64[m]")[todo].astype("datetime64[us]")
        else:
            typed = column.to_numpy(dtype=object)[todo]
            typed[pd.isna(typed)] = None
        columns.append(ColumnWrites(table.cols[fld], keys[todo], rows[todo], typed,
                                    current[todo]))
        if fld in mem.WRITTEN_FIELDS:
            written[fld] = np.where(~is_person & (new != ""), new, None)
    first_row = info.header_row + 1
    last_row = max(int(leads["row"].max()) if len(leads) else first_row, first_row) + 1000
    new_columns = [NewColumn(letter, LEAD_FIELDS[f][lang][0], _width(f, values[f]))
                   for f, letter in table.new.items()]
    anchors = None
    typed = cells.book_leads["lead_id"]
    unsure = (typed.isna() | typed.duplicated(keep=False)).to_numpy()
    if unsure.any() and "name" in info.columns:  # rows known by their name, not their key
        anchors = Anchors(info.columns["name"], keys[unsure], rows[unsure],
                          cells.book_leads["name"].fillna("").to_numpy(dtype=object)[unsure])
    edit = SheetEdit(info.sheet, info.header_row, table.cols["lead_id"], new_columns, columns,
                     highlights=highlight_rules(table.cols, first_row, last_row, table.last,
                                                settings, lang), anchors=anchors)
    return edit, sum(len(c) for c in columns)


def _stock_edit(book: Book, leads: pd.DataFrame, lang: str) -> SheetEdit | None:
    """The stock sheet's *Buyers waiting* count, by car (keyed by VIN, else stock number)."""
    from forecourt.rules.sla import waiting_buyers

    info = book.tabs.get("stock")
    if info is None or not len(book.stock):
        return None
    waiting = waiting_buyers(leads, book.stock)
    column = info.columns.get("waiting")
    new_columns = []
    if column is None:
        column = column_letter(column_index(info.last_column) + 1)
        new_columns.append(NewColumn(column, STOCK_FIELDS["waiting"][lang][0], 14))
    key_field = "vin" if "vin" in info.columns else "stock_no" if "stock_no" in info.columns \
        else None
    keys, rows, values, expected = [], [], [], []
    stock_keys = book.stock[key_field].tolist() if key_field else [None] * len(book.stock)
    for row, n, cur, key in zip(book.stock["row"].tolist(), waiting.tolist(),
                                book.stock["waiting"].tolist(), stock_keys, strict=True):
        if (not n and cur != cur) or (n and cur == n):  # cur is NaN when empty
            continue
        keys.append("" if key is None or key != key else str(key))
        rows.append(int(row))
        values.append(int(n) if n else None)
        expected.append(cell_text(cur))
    if not keys and not new_columns:
        return None
    writes = (ColumnWrites(column, keys, rows, values, expected),) if keys else ()
    return SheetEdit(info.sheet, info.header_row,
                     info.columns.get(key_field) if key_field else None, new_columns, writes)


def plan_run(book: Book, memory: mem.Memory, as_of: dt.datetime) -> Outcome:
    """Decide every engine-owned cell of the leads (and stock) tab, and the generated sheets.
    The plan names the workbook and revision ``book`` was read from (``book.identity``,
    ``book.revision``), so that only that workbook trusts its row numbers."""
    revision = book.revision
    from forecourt.rules.sla import opening_hours

    settings, lang = book.settings, book.language
    info = book.tabs["leads"]
    assert info is not None
    leads = book.leads.copy()
    hours = opening_hours(settings)
    issues = list(book.issues)
    error_rows = {i.row for i in issues if i.severity == "error" and i.sheet == info.sheet}
    table = _lead_columns(info)

    leads["lead_id"] = assign_ids(leads)
    known = leads["status"].notna() | leads["raw_status"].isna()
    leads["status"] = leads["status"].where(leads["status"].notna() | leads["raw_status"].notna(),
                                            "New")
    is_open = ~leads["status"].isin(CLOSED_STATUSES)
    lead_ids = leads["lead_id"].tolist()
    written = memory.written.reindex(pd.Index(lead_ids, dtype=object))
    cells = Cells(book.leads, written)

    owners = decide_owners(leads, book.stock, book.team, settings, is_open, memory.rotation,
                           written["fallback"].to_numpy(dtype=object), info.sheet)
    leads["owner"] = owners.owner
    issues += owners.issues
    history = decide_history(leads, memory.status, as_of)
    leads["status_since_new"] = history.since
    leads["furthest"] = history.furthest
    dues = decide_dues(leads, book.stock, settings, lang, as_of, cells)
    flagged = leads["row"].isin(error_rows) | ~known  # an unreadable status too
    states = decide_states(leads, is_open, dues.due, history.since, flagged, settings, hours,
                           lang, as_of)
    written["fallback"] = owners.fallback
    fallback = pd.Series(owners.fallback == "1", index=leads.index) & ~dues.person["owner"]
    issues += fallback_issues(leads, fallback, info.sheet, table.cols["owner"])

    values = {"lead_id": leads["lead_id"], "owner": leads["owner"],
              "next_action": dues.next_action, "due": dues.due,
              "status_since": history.since, "state": states.state}
    lead_edit, cells_written = _lead_edit(info, table, leads, values, cells, dues.person,
                                          written, settings, lang)
    edits = [lead_edit]
    stock_edit = _stock_edit(book, leads, lang)
    if stock_edit is not None:
        edits.append(stock_edit)

    assignments = mem.assignments_after(memory, [
        (a.lead_id, a.row, a.owner, a.fallback, a.reason, a.skipped)
        for a in owners.assignments])
    changes = mem.MemoryChanges(written=written, status=history.status, history=history.moves,
                                assignments=assignments, rotation=owners.rotation)

    # KPI, Issues and Log sheets.
    leads["next_action"], leads["due"] = dues.next_action, dues.due
    leads["status_since"] = history.since
    leads["overdue"], leads["due_soon"], leads["stalled"] = \
        states.overdue, states.due_soon, states.stalled
    leads["sla_deadline"] = first_response_deadline(leads, settings, hours)
    sheets, kpis = _report(leads, issues, memory, assignments, info, hours, as_of, settings,
                           lang)
    plan = Plan(edits, sheets, revision, book.identity)

    summary = {
        "file": book.source,
        "as_of": as_of.strftime("%Y-%m-%d %H:%M"),
        "language": lang,
        "tabs": {kind: info.sheet for kind, info in book.tabs.items() if info is not None},
        "leads": len(leads),
        "stock": len(book.stock),
        "open": int(is_open.sum()),
        "overdue": int(states.overdue.sum()),
        "due_soon": int(states.due_soon.sum()),
        "stalled": int(states.stalled.sum()),
        "assigned": len(owners.assignments),
        "fallback_assigned": sum(a.fallback for a in owners.assignments),
        "cells_written": cells_written,
        "columns_added": list(table.new.values()),
        "errors": sum(i.severity == "error" for i in issues),
        "warnings": sum(i.severity == "warning" for i in issues),
        "issues": [i.to_dict() for i in issues],
        "kpi": kpis,
    }
    return Outcome(plan, summary, changes, leads, issues)


def _report(leads: pd.DataFrame, issues: list[Issue], memory: mem.Memory,
            assignments: tuple[mem.Assignment, ...], info: TabInfo, hours: Any,
            as_of: dt.datetime, settings: Any, lang: str
            ) -> tuple[list[GeneratedSheet], dict[str, Any]]:
    """The KPI, Issues and Log sheets, and the KPIs for the summary."""
    from forecourt.rules import sheets
    from forecourt.rules.kpi import compute_kpis

    kpis = compute_kpis(leads, hours, as_of, settings.kpi_window_days,
                                  columns=info.columns)
    log_entries = [(a.row, a.lead_id, a.owner, a.fallback, a.reason, list(a.skipped))
                   for a in (memory.assignments + assignments)[-LOG_KEEP:]]
    return [sheets.kpi_sheet(kpis, lang), sheets.issues_sheet(issues, as_of, lang),
            sheets.log_sheet(log_entries, as_of, lang)], kpis


_log = logging.getLogger("forecourt")


@dataclass
class RunResult:
    """What :func:`run` did: the outcome (its plan whole, to apply elsewhere or again; its
    ``leads`` frame emptied after a run that writes, to free memory), whether the workbook
    was written, where (a file's path, else the workbook's address, such as a Sheet's URL),
    its backup, and the memory's file."""

    outcome: Outcome
    written: bool
    path: Path | str
    backup: Path | None
    state: Path | None


def run(target: Backend | Path | str, *, as_of: dt.datetime | None = None,
        out: Path | str | None = None, dry_run: bool = False, state: Path | str | None = None,
        progress: Callable[[str], None] | None = None,
        tabs: Tabs | PendingTabs | None = None, client: Any = None) -> RunResult:
    """Run the engine on a workbook and write the result back (see the module docstring).

    ``target`` is a backend (:class:`~forecourt.sync.backend.Backend`), the path of an
    .xlsx/.xlsm file, or a Google Sheet: a ``gspread.Spreadsheet``, or its id or URL with a
    ``gspread.Client`` as ``client`` (see :func:`forecourt.sync.open_backend`). For a file,
    ``out`` writes the result elsewhere and ``tabs`` are its values when the caller has read
    them already (or is reading them: :class:`~forecourt.sync.xlsx.PendingTabs`). ``state``
    is the memory's SQLite file (default: the workbook's own store,
    :func:`forecourt.store.memory_store`). The interpreter is left as it is (switch interval,
    garbage collector): the ``forecourt`` command tunes those for itself.
    """
    from forecourt.sync import open_backend

    backend = open_backend(target, out=out, tabs=tabs, client=client)
    say = progress or (lambda _m: None)
    own = backend.store  # a backend may keep its memory itself (grids in memory)
    store = memory_store(backend.identity, state) if own is None or state is not None else own
    with backend.session(write=not dry_run, memory=store.path) as notes:
        for note in notes:  # on stderr unless the program that called run() set up logging
            _log.warning("forecourt: %s", note)
        return _decide_and_write(backend, store, as_of=as_of, dry_run=dry_run, say=say,
                                 notes=notes)


def _warm_up() -> None:
    """pandera's first use (about 0.1 s; it saves most of that later), while the workbook is
    still being read. Not the memory: its frames beside a big book's cells would raise the
    peak by ~40 MB."""
    from forecourt.validators.validate import warm_up

    warm_up()


def _decide_and_write(backend: Backend, store: Any, *, as_of: dt.datetime | None,
                      dry_run: bool, say: Callable[[str], None], notes: list[str]
                      ) -> RunResult:
    say("reading")
    book = load_book(backend.read(progress=say, while_waiting=_warm_up), as_of=as_of,
                     progress=say)
    as_of = book.as_of  # the clock in the Settings tab's time zone, unless given
    memory = store.load()
    leads_sheet = book.tabs["leads"].sheet  # type: ignore[union-attr]
    if not dry_run:  # e.g. the leads sheet inflates in a second thread while the plan is made
        backend.will_write([leads_sheet])
    say("deciding owners, next actions and due times")
    outcome = plan_run(book, memory, as_of)
    outcome.summary["notes"] = notes
    location = _where(backend.identity.kind, str(backend.identity))
    if dry_run:
        return RunResult(outcome, False, location, None, None)
    del book  # the frames are not needed to write; free them for the big sheet
    outcome.leads = outcome.leads.iloc[0:0]
    # The memory is saved to a side file (in a second thread for a SQLite store) while the
    # workbook is written. The workbook is made visible only once the memory is saved, and
    # the memory only after the workbook: a failure leaves both as they were.
    staged = store.stage(memory.updated(outcome.changes), outcome.changes, as_of=as_of,
                         summary=f"{outcome.summary['assigned']} assigned, "
                                 f"{outcome.summary['overdue']} overdue")
    del memory
    try:
        say("writing")
        applied = backend.apply(outcome.plan, progress=say)
        outcome.summary["changed_sheets"] = applied.changed_sheets
        outcome.summary["only_generated"] = applied.only_generated
        outcome.summary["cells_written"] = applied.cells.get(leads_sheet, 0)
        if applied.skipped:
            outcome.summary["skipped"] = [vars(s) for s in applied.skipped]
        committed = backend.commit(before=staged.wait)
        staged.install()
    finally:
        staged.discard()
    if not committed.written:
        outcome.summary["changed_sheets"] = []
    return RunResult(outcome, committed.written,
                     _where(backend.identity.kind, committed.location),
                     Path(committed.backup) if committed.backup else None, store.path)


def _where(kind: str, location: str) -> Path | str:
    return Path(location) if kind == "file" else location
