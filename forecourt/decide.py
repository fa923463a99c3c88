"""The deciding steps of a run, each a function over plain data that returns data.

ids → ownership → history → next actions and dues → states. None of them changes the book,
the memory or its arguments; what the memory should remember comes back in the results and
:func:`forecourt.engine.plan_run` gathers it into one :class:`~forecourt.memory.MemoryChanges`,
committed by the caller. Each step can be tested with small frames, without any file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from forecourt.issues import Issue, make_issue
from forecourt.sync.base import cell_text as cell_minute
from forecourt.sync.base import fold_key
from forecourt.validators.vocabulary import CHANNEL_CLASSES, STATUS_ORDER

CONTACTED = STATUS_ORDER.index("Contacted")
ATTEMPTING = STATUS_ORDER.index("Attempting contact")
APPOINTMENT_SET = STATUS_ORDER.index("Appointment set")

STATE_WORDS = {
    "overdue": {"en": "overdue", "de": "überfällig", "pl": "zaległe"},
    "due soon": {"en": "due soon", "de": "bald fällig", "pl": "wkrótce"},
    "stalled": {"en": "stalled", "de": "stockt", "pl": "utknęło"},
    "check data": {"en": "check data", "de": "Daten prüfen", "pl": "sprawdź dane"},
}


# ids -------------------------------------------------------------------------------------

def stable_id(*parts: Any) -> str:
    """A short id from what identifies the inquiry; it is written back, so it stays put."""
    digest = hashlib.sha1("|".join("" if p is None or p is pd.NaT else str(p)
                                   for p in parts).encode()).digest()
    return "L-" + base64.b32encode(digest).decode()[:7]


def assign_ids(leads: pd.DataFrame) -> pd.Series:
    """Lead ids for rows without one (others keep theirs); unique within the sheet as the
    backends compare keys (without case, spaces or dashes: a typed ``l-abc1234`` takes
    ``L-ABC1234``)."""
    ids = leads["lead_id"].copy()
    missing = leads.loc[ids.isna(), ["received_at", "phone", "email", "name", "source"]]
    if missing.empty:  # a rerun: every row has its id
        return ids
    taken = {fold_key(i) for i in ids.dropna()}
    made = []
    for parts in missing.itertuples(index=False, name=None):
        new = stable_id(*parts)
        candidate, k = new, 2
        while fold_key(candidate) in taken:
            candidate, k = f"{new}-{k}", k + 1
        made.append(candidate)
        taken.add(fold_key(candidate))
    if made:
        ids[missing.index] = made
    return ids


# what the cells hold, and whose they are -------------------------------------------------

def cell_minutes(series: pd.Series) -> pd.Series:
    """:func:`cell_minute` for a whole column (vectorised for datetime columns)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        text = np.datetime_as_string(series.to_numpy(dtype="datetime64[m]"), unit="m")
        return pd.Series(np.where(text == "NaT", "", text), index=series.index, dtype=object)
    return pd.Series([v.strip() if v.__class__ is str else "" if v is None else cell_minute(v)
                      for v in series.tolist()], index=series.index, dtype=object)


class Cells:
    """The engine's cells of the leads tab as the book holds them, beside what the memory says
    the engine wrote there: who owns each cell (the engine or a person)."""

    def __init__(self, book_leads: pd.DataFrame, written: pd.DataFrame) -> None:
        self.book_leads = book_leads
        self.written = written  # the memory's rows, in the leads' order
        self._texts: dict[str, np.ndarray] = {}

    def text(self, fld: str) -> np.ndarray:
        """What the workbook's cell holds now, as the memory compares it ("" when empty)."""
        if fld not in self._texts:
            self._texts[fld] = cell_minutes(self.book_leads[fld]).to_numpy(dtype=object) \
                if fld in self.book_leads else np.full(len(self.book_leads), "", dtype=object)
        return self._texts[fld]

    def persons(self, fld: str) -> pd.Series:
        """True where the cell holds a person's entry (anything the engine did not write)."""
        current = self.text(fld)
        wrote = self.written[fld].to_numpy(dtype=object)
        mine = (current == "") | (current == wrote)
        raw = self.book_leads.get(f"raw_{fld}")
        if raw is not None:  # an unreadable entry is still somebody's entry
            mine &= ~(raw.notna().to_numpy() & (current == ""))
        return pd.Series(~mine, index=self.book_leads.index)


# ownership -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ownership:
    """Owners after this run: every open lead without one got one."""

    owner: pd.Series
    #: the assignments made, in order (``forecourt.rules.routing.Assignment``)
    assignments: tuple[Any, ...]
    #: the whole rotation after them
    rotation: dict[str, int]
    #: per lead, "1" where the owner came by fallback, "0" where by rotation (the memory's
    #: ``fallback`` column, updated)
    fallback: np.ndarray
    issues: tuple[Issue, ...] = ()


def decide_owners(leads: pd.DataFrame, stock: pd.DataFrame, team: pd.DataFrame,
                  settings: Any, is_open: pd.Series, rotation: dict[str, int],
                  fallback_before: np.ndarray, sheet: str) -> Ownership:
    """Fill the empty owners of open leads from the Team tab; a person's choice stays."""
    from forecourt.rules.routing import assign_owners

    needs_owner = is_open & leads["owner"].isna()
    team_names = list(team["name"].dropna()) if len(team) else []
    rotation = dict(rotation)
    owner = leads["owner"].copy()
    fallback = np.array(fallback_before, dtype=object)
    assignments = assign_owners(leads, stock, team, settings, rotation, needs_owner) \
        if team_names else []
    if assignments:
        at = [a.index for a in assignments]
        owner.loc[at] = [a.owner for a in assignments]
        # By position: a lead id copied onto two rows repeats in the index.
        fallback[leads.index.get_indexer(at)] = ["1" if a.fallback else "0"
                                                 for a in assignments]
    issues = ()
    if not team_names and needs_owner.any():
        issues = (make_issue("no-owner", sheet, None, None,
                             "no Team tab with people: open leads cannot be assigned"),)
    return Ownership(owner, tuple(assignments), rotation, fallback, issues)


# history ---------------------------------------------------------------------------------

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


def _statuses(column: pd.Series) -> np.ndarray:
    """A status column as objects, "\0" where empty (whatever the frame's dtype: a memory
    loaded from SQLite holds objects, one kept in memory pandas' string dtype)."""
    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = "\0"
    return values


@dataclass(frozen=True)
class History:
    """Each lead's status since and furthest stage, and the status changes this run saw."""

    since: pd.Series  # datetime64[us], by lead
    furthest: pd.Series  # int64 stage index, by lead
    #: the memory's status rows for these leads (indexed by lead id)
    status: pd.DataFrame
    #: (lead id, status, seen at) for each lead whose status moved since the last run
    moves: tuple[tuple[str, str | None, dt.datetime], ...]


def decide_history(leads: pd.DataFrame, status_memory: pd.DataFrame, as_of: dt.datetime
                   ) -> History:
    """Status since: kept while the status stays, the last contact (or now) when it moved,
    else what the book says or an estimate. Furthest stage: the most the book or the memory
    has ever shown."""
    now = pd.Timestamp(as_of)
    lead_ids = leads["lead_id"].tolist()
    stage = evidence_stage(leads).to_numpy()
    estimate = _status_since_estimates(leads).fillna(now)
    rec = status_memory.reindex(pd.Index(lead_ids, dtype=object))
    status = leads["status"].to_numpy(dtype=object)
    has_rec = rec["since"].notna().to_numpy()
    rec_since = rec["since"].to_numpy(dtype="datetime64[us]")
    # A row copied with its lead id (flagged duplicate-lead-id) is not the lead: the first
    # row is. The copy neither moves the lead's history nor is remembered for it.
    copy = leads["lead_id"].duplicated(keep="first").to_numpy()
    same = has_rec & ~copy & (_statuses(rec["status"]) == _statuses(leads["status"]))
    moved = has_rec & ~copy & ~same
    last = leads["last_contact_at"].to_numpy(dtype="datetime64[us]")
    stamp = np.datetime64(as_of, "us")
    moved_since = np.where((last > rec_since) & (last <= stamp), last, stamp)
    from_book = leads["status_since"].fillna(estimate).to_numpy(dtype="datetime64[us]")
    since = np.where(same, rec_since, np.where(moved, moved_since, from_book))
    furthest = np.maximum(stage, rec["furthest"].fillna(0).to_numpy(dtype="int64"))
    lead = ~copy
    frame = pd.DataFrame({"status": status[lead], "since": since[lead],
                          "furthest": furthest[lead]},
                         index=pd.Index(leads["lead_id"][lead].tolist(), dtype=object,
                                        name="lead_id"))
    return History(pd.Series(since, index=leads.index, dtype="datetime64[us]"),
                   pd.Series(furthest, index=leads.index, dtype="int64"), frame,
                   tuple((lead_ids[k], status[k], as_of) for k in np.flatnonzero(moved)))


# next actions and dues -------------------------------------------------------------------

@dataclass(frozen=True)
class Dues:
    """Next action and due per lead: the SLA table's, or a person's entry where there is one."""

    next_action: pd.Series
    due: pd.Series  # datetime64
    #: per field (owner, next action, due): True where the cell is a person's entry
    person: dict[str, pd.Series]


def decide_dues(leads: pd.DataFrame, stock: pd.DataFrame, settings: Any, language: str,
                as_of: dt.datetime, cells: Cells) -> Dues:
    """The SLA table's next action and due for every lead, kept only where the cell is the
    engine's (empty, or what it wrote and nobody changed since)."""
    from forecourt.rules.sla import next_actions

    sla = next_actions(leads, stock, settings, language, as_of)
    person = {"owner": cells.persons("owner")}
    final = {}
    for fld in ("next_action", "due"):
        person[fld] = cells.persons(fld)
        final[fld] = leads[fld].where(person[fld], sla[fld])
    return Dues(final["next_action"], pd.to_datetime(final["due"], errors="coerce"), person)


# states ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class States:
    """Which open leads are late, nearly late or stuck, and the State cell that says so."""

    overdue: pd.Series
    due_soon: pd.Series
    stalled: pd.Series
    flagged: pd.Series  # check data: an error on the row, or an unreadable status
    state: pd.Series  # the State cell's text, None where nothing is wrong


def decide_states(leads: pd.DataFrame, is_open: pd.Series, due: pd.Series,
                  since: pd.Series, flagged: pd.Series, settings: Any, hours: Any,
                  language: str, as_of: dt.datetime) -> States:
    """Overdue: due before now. Due soon: due within the next business hour(s) of the
    setting. Stalled: longer in the status than its limit in days."""
    now = pd.Timestamp(as_of)
    in_one_hour = pd.Timestamp(hours.add(as_of, settings.due_soon_hours * 60))
    overdue = is_open & due.notna() & (due < now)
    due_soon = is_open & due.notna() & (due >= now) & (due < in_one_hour)
    limits = leads["status"].map(settings.stalled_days)
    age_days = (now - since) / pd.Timedelta(days=1)
    stalled = is_open & limits.notna() & (age_days > limits)
    masks = [(STATE_WORDS[w][language], m.to_numpy(dtype=bool)) for w, m in
             (("overdue", overdue), ("due soon", due_soon), ("stalled", stalled),
              ("check data", flagged))]
    code = np.zeros(len(leads), dtype=np.int64)
    for bit, (_word, m) in enumerate(masks):
        code |= m.astype(np.int64) << bit
    labels = {c: ", ".join(w for b, (w, _m) in enumerate(masks) if c >> b & 1) or None
              for c in np.unique(code).tolist()}
    state = pd.Series([labels[c] for c in code.tolist()], index=leads.index, dtype=object)
    return States(overdue, due_soon, stalled, flagged, state)


def fallback_issues(leads: pd.DataFrame, fallback: pd.Series, sheet: str,
                    owner_column: str) -> list[Issue]:
    """One Issues row per open lead whose owner came by fallback (and nobody changed since)."""
    return [make_issue("no-eligible-owner", sheet, int(row), owner_column,
                       f"nobody on the Team tab could take this lead; it went to "
                       f"{owner} (fallback): see the Log sheet", owner, "owner")
            for row, owner in leads.loc[fallback, ["row", "owner"]].itertuples(index=False)]


def first_response_deadline(leads: pd.DataFrame, settings: Any, hours: Any) -> pd.Series:
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

