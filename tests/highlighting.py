"""What a spreadsheet would highlight: the conditional-format rules of a written sheet, read
with openpyxl and evaluated in Python for one row at a given now.

The evaluator knows the few worksheet functions highlighting formulas use (AND, OR, NOT,
ISNUMBER, SEARCH, TRIM, N, NOW) and Excel's comparison rules (text compares case-insensitively,
an empty cell is 0 beside a number and "" beside text); anything else raises, so a new kind of
formula fails a test loudly instead of being guessed. Numbers are exact fractions and moments
are whole seconds, so a due time exactly at now is neither early nor late by a rounding error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from openpyxl.utils import column_index_from_string, range_boundaries

_EPOCH = dt.datetime(1899, 12, 30)
_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"]|"")*")|(?P<ref>\$?[A-Z]{1,3}\$?\d+)(?![\w(])'
    r"|(?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<logical>TRUE|FALSE)(?![\w(])"
    r"|(?P<name>[A-Z][A-Z0-9.]*)(?=\()"
    r"|(?P<op><=|>=|<>|[-+*/&=<>(),]))"
)


@dataclass(frozen=True)
class Rule:
    """One expression rule: where it applies, its formula, its fill colour and priority."""

    sqref: str
    formula: str
    fill: str | None
    priority: int

    def covers(self, row: int) -> bool:
        return any(_rows(part)[0] <= row <= _rows(part)[1] for part in self.sqref.split())

    @property
    def top_row(self) -> int:
        return min(_rows(part)[0] for part in self.sqref.split())


def _rows(ref: str) -> tuple[int, int]:
    _, top, _, bottom = range_boundaries(ref)
    return top, bottom


def rules(ws: Any) -> list[Rule]:
    """The sheet's expression rules in priority order (openpyxl, not read-only)."""
    found = []
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if rule.type != "expression":
                continue
            fill = rule.dxf.fill.bgColor.rgb if rule.dxf and rule.dxf.fill else None
            found.append(Rule(str(cf.sqref), rule.formula[0], fill and fill[-6:].upper(),
                              rule.priority))
    return sorted(found, key=lambda r: r.priority)


def serial(moment: dt.datetime | dt.date) -> Fraction:
    """A moment as a spreadsheet serial (days since 1899-12-30), to the nearest second."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time())
    seconds = round((moment - _EPOCH).total_seconds())
    return Fraction(seconds, 86400)


def matches(rule: Rule, ws: Any, row: int, now: dt.datetime) -> bool:
    """Whether ``rule`` holds for ``row`` (its formula is written for the range's top row)."""
    cells: dict[tuple[int, int], Any] = {}

    def cell(ref: tuple[str, bool, int]) -> Any:
        column, absolute, ref_row = ref
        at = (ref_row if absolute else ref_row + row - rule.top_row,
              column_index_from_string(column))
        if at not in cells:
            cells[at] = _cell_value(ws.cell(*at).value)
        return cells[at]

    value = _evaluate(_parse(rule.formula), cell, serial(now))
    return value is True or (isinstance(value, Fraction) and value != 0)


class _Blank:
    def __repr__(self) -> str:
        return "BLANK"


BLANK = _Blank()


def _cell_value(value: Any) -> Any:
    if value is None or value == "":
        return BLANK
    if isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return serial(value)
    if isinstance(value, int | float):
        return Fraction(value)
    return str(value)


# --- parsing: a formula becomes a tree of tuples, once per formula text ---------------------
# ("value", v) · ("cell", (column, row is absolute, row)) · ("call", NAME, args)
# · ("op", operator, left, right) · ("neg", operand)

_COMPARE = ("=", "<>", "<", "<=", ">", ">=")


@lru_cache(maxsize=64)
def _parse(text: str) -> tuple:
    parser = _Parser(_tokens(text.lstrip("=")))
    tree = parser.comparison()
    if parser.pos != len(parser.tokens):
        raise ValueError(f"unexpected {parser.tokens[parser.pos]!r} in {text!r}")
    return tree


class _Parser:
    def __init__(self, tokens: tuple[tuple[str, str], ...]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens) or (value is not None and self.peek() != value):
            raise ValueError(f"expected {value!r} at token {self.pos}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def binary(self, operators: tuple[str, ...], operand: Any) -> tuple:
        left = operand()
        while self.peek() in operators:
            op = self.take()[1]
            left = ("op", op, left, operand())
        return left

    def comparison(self) -> tuple:
        return self.binary(_COMPARE, self.concatenation)

    def concatenation(self) -> tuple:
        return self.binary(("&",), self.additive)

    def additive(self) -> tuple:
        return self.binary(("+", "-"), self.multiplicative)

    def multiplicative(self) -> tuple:
        return self.binary(("*", "/"), self.unary)

    def unary(self) -> tuple:
        if self.peek() in ("-", "+"):
            sign = self.take()[1]
            operand = self.unary()
            return ("neg", operand) if sign == "-" else operand
        return self.primary()

    def primary(self) -> tuple:
        kind, text = self.take()
        if kind == "number":
            return ("value", Fraction(text))
        if kind == "string":
            return ("value", text[1:-1].replace('""', '"'))
        if kind == "logical":
            return ("value", text == "TRUE")
        if kind == "ref":
            m = re.fullmatch(r"\$?([A-Z]+)(\$?)(\d+)", text)
            assert m is not None
            return ("cell", (m.group(1), bool(m.group(2)), int(m.group(3))))
        if kind == "name":
            self.take("(")
            args = []
            if self.peek() != ")":
                args.append(self.comparison())
                while self.peek() == ",":
                    self.take()
                    args.append(self.comparison())
            self.take(")")
            return ("call", text, tuple(args))
        if text == "(":
            tree = self.comparison()
            self.take(")")
            return tree
        raise ValueError(f"unexpected {text!r}")


# --- evaluating ------------------------------------------------------------------------------


def _evaluate(node: tuple, cell: Any, now: Fraction) -> Any:
    kind = node[0]
    if kind == "value":
        return node[1]
    if kind == "cell":
        return cell(node[1])
    if kind == "neg":
        return -_number(_evaluate(node[1], cell, now))
    if kind == "op":
        op = node[1]
        left, right = _evaluate(node[2], cell, now), _evaluate(node[3], cell, now)
        if op in _COMPARE:
            return _compare(op, left, right)
        if op == "&":
            return _text(left) + _text(right)
        a, b = _number(left), _number(right)
        return {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    name, args = node[1], node[2]
    if name == "NOW":
        return now
    # AND and OR stop at the first argument that decides (the functions used have no effects).
    if name == "AND":
        return all(_truth(_evaluate(a, cell, now)) for a in args)
    if name == "OR":
        return any(_truth(_evaluate(a, cell, now)) for a in args)
    values = [_evaluate(a, cell, now) for a in args]
    if name == "NOT":
        return not _truth(values[0])
    if name == "ISNUMBER":
        return isinstance(values[0], Fraction)
    if name == "TRIM":  # outer spaces off, inner runs of spaces to one
        return _trim(_text(values[0]))
    if name == "SEARCH":  # where the text is, case-insensitively, or an error (no number)
        at = _text(values[1]).lower().find(_text(values[0]).lower())
        return Fraction(at + 1) if at >= 0 else None
    if name == "N":
        value = values[0]
        return value if isinstance(value, Fraction) else Fraction(int(value is True))
    raise ValueError(f"the evaluator does not know {name}()")


@lru_cache(maxsize=64)
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip():
                raise ValueError(f"cannot read formula at {text[pos:pos + 20]!r}")
            break
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tuple(tokens)


@lru_cache(maxsize=4096)
def _trim(text: str) -> str:
    return re.sub(" +", " ", text).strip(" ")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, Fraction):
        return value != 0
    if value is BLANK:
        return False
    raise ValueError(f"{value!r} is not a truth value")


def _number(value: Any) -> Fraction:
    if value is BLANK:
        return Fraction(0)
    if isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, Fraction):
        return value
    raise ValueError(f"{value!r} is not a number (#VALUE!)")


def _text(value: Any) -> str:
    if value is BLANK:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Fraction):
        return str(value.numerator if value.denominator == 1 else float(value))
    return str(value)


def _rank(value: Any) -> tuple[int, Any]:
    """Excel's order across types: numbers < text < logical values."""
    if isinstance(value, bool):
        return 2, value
    if isinstance(value, Fraction):
        return 0, value
    return 1, _fold(value)


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    return text.casefold()


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is BLANK:
        left = "" if isinstance(right, str) else False if isinstance(right, bool) else \
            Fraction(0)
    if right is BLANK:
        right = "" if isinstance(left, str) else False if isinstance(left, bool) else \
            Fraction(0)
    a, b = _rank(left), _rank(right)
    return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b,
            ">=": a >= b}[op]
