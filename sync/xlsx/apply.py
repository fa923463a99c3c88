"""Staging a plan's changes in an .xlsx/.xlsm package without re-saving it (the plan's rows
already found by :class:`~.backend.XlsxBackend`: cells by row number and column letter).

The few parts a plan touches are edited as text, in a :class:`~.package.Package`:

* the edited sheets' XML (:mod:`.sheetdata`): only the written cells change; rows are streamed
  by regex, cells in untouched rows are not even parsed; new cells are inline strings (text is
  never a formula);
* ``xl/styles.xml`` (:mod:`.styles`): a date format, a bold header and the conditional-format
  colours are added once (found again on later runs, never duplicated);
* workbook.xml, its relationships and [Content_Types].xml (:mod:`.generated`): our generated
  sheets (Issues, KPI, Log) with their drawings and charts, replaced on every run.

Every other part is copied unchanged when :func:`~.package.replace_atomically` writes the
package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from forecourt.errors import UnreadableWorkbook
from forecourt.plan import GeneratedSheet
from forecourt.sync.xlsx.generated import apply_generated
from forecourt.sync.xlsx.package import Package
from forecourt.sync.xlsx.sheetdata import SheetCells, edit_sheet
from forecourt.sync.xlsx.styles import Styles


def apply_plan_to_package(pkg: Package, edits: Iterable[SheetCells],
                          sheets: Iterable[GeneratedSheet] = (),
                          progress: Callable[[str], None] | None = None) -> list[str]:
    """Stage a plan's changes in ``pkg`` (written by :meth:`Package.write`): the dealer's
    sheets' cells by row number (``edits``: taken one at a time, so a caller that makes them
    as they are asked for holds one sheet's cells at a time), then the generated sheets.
    Returns the names the generated sheets got."""
    say = progress or (lambda _m: None)
    styles = Styles(pkg.get("xl/styles.xml").decode("utf-8"))
    parts = pkg.sheets()
    for edit in edits:
        part = parts.get(edit.sheet)
        if part is None:
            raise UnreadableWorkbook(f"sheet {edit.sheet!r} is no longer in the workbook; "
                                     "nothing was written.", sheet=edit.sheet)
        say(f"writing {edit.cell_count} cells to {edit.sheet}")
        pieces, changed = edit_sheet(pkg.get(part), edit, styles)
        pkg.set_pieces(part, pieces, changed)
        del edit  # staged: free its cells before the next sheet
    names = []
    for sheet in sheets:
        say(f"writing sheet {sheet.name}")
        names.append(apply_generated(pkg, sheet, styles))
    pkg.set("xl/styles.xml", styles.xml.encode("utf-8"))
    return names
