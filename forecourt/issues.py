"""Row-level problems are data: one :class:`Issue` per problem, located where the dealer sees it."""

from __future__ import annotations

from typing import Any, NamedTuple

ERROR = "error"
WARNING = "warning"


class Issue(NamedTuple):
    """A problem in the dealer's workbook.

    ``row`` is the row number as Excel shows it and ``column`` the column letter; either is None
    when the problem is about a whole sheet or a whole column. A named tuple, not a frozen
    dataclass: a book with 50k bad cells makes 50k of them, and a frozen dataclass takes
    five times as long to build each.
    """

    sheet: str
    row: int | None
    column: str | None
    code: str
    severity: str
    message: str
    value: Any = None
    field: str | None = None

    @property
    def cell(self) -> str:
        return f"{self.column or ''}{self.row or ''}"

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, int | float | str | bool):
            value = str(value)
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "code": self.code,
                "severity": self.severity, "message": self.message, "value": value,
                "field": self.field}


# code -> (severity, what it means). The list the README and `check --help` show.
CODES: dict[str, tuple[str, str]] = {
    "missing-received-at": (ERROR, "a lead without the time it was received"),
    "missing-source": (ERROR, "a lead without a source"),
    "missing-contact": (ERROR, "a lead with neither phone nor e-mail"),
    "bad-date": (ERROR, "a date or time that cannot be read"),
    "future-lead": (WARNING, "a lead received after now"),
    "vin-length": (ERROR, "a VIN that is not 17 characters (and not a Japanese frame number)"),
    "vin-characters": (ERROR, "a VIN with I, O, Q or other characters a VIN cannot have"),
    "vin-check-digit": (ERROR, "a North American or Chinese VIN whose check digit is wrong"),
    "duplicate-vin": (ERROR, "the same VIN on two stock rows"),
    "duplicate-stock-no": (WARNING, "the same stock number on two stock rows"),
    "sold-conflict": (WARNING, "a car whose Sold column and status disagree (counted as sold)"),
    "vin-not-in-stock": (WARNING, "a lead asks about a VIN or stock number not in stock"),
    "unknown-source": (WARNING, "a source that maps to no channel"),
    "unknown-status": (WARNING, "a status forecourt does not recognise"),
    "unknown-stock-status": (WARNING, "a stock status forecourt does not recognise"),
    "duplicate-person": (WARNING, "the same phone or e-mail again within the duplicate window"),
    "duplicate-lead-id": (ERROR, "the same lead id on two rows"),
    "bad-phone": (WARNING, "a phone number that cannot be read as a number"),
    "bad-email": (WARNING, "an e-mail address that does not look like one"),
    "bad-number": (WARNING, "a price, budget, year or cap that is not a number"),
    "bad-yes-no": (WARNING, "a yes/no cell with something else in it"),
    "missing-column": (WARNING, "a column forecourt needs is not on the tab"),
    "fuzzy-header": (WARNING, "a header read as a near miss of a known one"),
    "inferred-column": (WARNING, "a column whose header says nothing, read as a field from its "
                                 "values (confirm or correct it in Settings)"),
    "duplicate-header": (WARNING, "two columns map to the same field; the first is used"),
    "missing-tab": (WARNING, "a Stock, Team or Settings tab was not found"),
    "missing-vin": (ERROR, "a stock row without a VIN"),
    "missing-name": (ERROR, "a Team row without a name"),
    "no-owner": (WARNING, "open leads but no Team tab with people to assign them to"),
    "no-eligible-owner": (WARNING, "nobody on the Team tab could take the lead: fallback owner"),
    "bad-setting": (WARNING, "a Settings value that cannot be read (the default is used)"),
    "shared-cost-column": (WARNING, "a column that looks like a cost or a margin, which "
                                    "`forecourt sync` would share with the team's Google "
                                    "Sheet (list it in the Settings row 'Private columns')"),
}


def make_issue(code: str, sheet: str, row: int | None, column: str | None, message: str,
               value: Any = None, field: str | None = None) -> Issue:
    return Issue(sheet, row, column, code, CODES[code][0], message, value, field)
