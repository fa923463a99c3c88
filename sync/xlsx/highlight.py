"""Highlighting rules as Excel renders them: a :class:`~forecourt.plan.Highlight` becomes a
conditional format whose formula uses ``NOW()``, so rows change colour between runs too.

Every formula forecourt writes carries :data:`CF_MARKER`, a term that is always true, so that
a later run finds and replaces its own rules and never the dealer's.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.plan import FLAG_FILL, Highlight

#: A term every engine-owned conditional-format formula contains (it is always true), so a
#: backend can find and replace its own rules without touching the dealer's.
CF_MARKER = 'N("forecourt")=0'


@dataclass(frozen=True)
class ConditionalFormat:
    """An Excel conditional-format rule over a range of the dealer's sheet.

    ``formula`` is written relative to the top-left cell of ``sqref`` (as Excel stores it), e.g.
    ``AND(ISNUMBER($R2),$R2<NOW())`` for ``A2:R500``. ``fill`` and ``font`` are RGB hex.
    """

    sqref: str
    formula: str
    fill: str
    font: str | None = None
    name: str = ""


def _text(word: str) -> str:
    return word.replace('"', '""')


def _closed(rule: Highlight, row: int) -> str:
    if rule.status is None:
        return "FALSE"
    ref = f"TRIM(${rule.status}{row})"
    return "OR(" + ",".join(f'{ref}="{_text(w)}"' for w in rule.closed) + ")"


def _is_status(rule: Highlight, row: int) -> str:
    if rule.status is None:
        return "TRUE" if "" in rule.statuses else "FALSE"
    ref = f"TRIM(${rule.status}{row})"
    return "OR(" + ",".join(f'{ref}="{_text(w)}"' for w in rule.statuses) + ")"


def excel_formula(rule: Highlight) -> str:
    """The rule's formula, relative to its first row (Excel compares text without case)."""
    r, due, since = rule.first_row, rule.due, rule.status_since
    open_ = f"NOT({_closed(rule, r)})"
    if rule.kind == "overdue":
        return f"AND(ISNUMBER(${due}{r}),${due}{r}<NOW(),{open_},{CF_MARKER})"
    if rule.kind == "due soon":
        said = f'ISNUMBER(SEARCH("{_text(rule.soon_word)}",${rule.state}{r}))' \
            if rule.state and rule.soon_word else "FALSE"
        return (f"AND(ISNUMBER(${due}{r}),${due}{r}>=NOW(),"
                f"OR(${due}{r}<NOW()+{rule.soon_hours}/24,{said}),{open_},{CF_MARKER})")
    return (f"AND(ISNUMBER(${since}{r}),{_is_status(rule, r)},"
            f"NOW()-${since}{r}>{rule.days},{CF_MARKER})")


def conditional_formats(rules: tuple[Highlight, ...], flags: tuple[str, ...] = ()
                        ) -> list[ConditionalFormat]:
    """The rules as Excel's conditional formats; ``flags`` (cells) filled by a rule that is
    always true."""
    out = [ConditionalFormat(f"A{h.first_row}:{h.last_column}{h.last_row}", excel_formula(h),
                             h.fill, h.font, h.kind) for h in rules]
    if flags:
        out.append(ConditionalFormat(" ".join(flags), CF_MARKER, FLAG_FILL, None, "flagged"))
    return out
