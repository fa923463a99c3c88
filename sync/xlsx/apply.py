"""Applying a :class:`~forecourt.plan.Plan` to an .xlsx/.xlsm file without re-saving it.

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

from collections.abc import Callable

from forecourt.plan import Plan
from forecourt.sync.xlsx.generated import apply_generated
from forecourt.sync.xlsx.package import Package
from forecourt.sync.xlsx.sheetdata import edit_sheet
from forecourt.sync.xlsx.styles import Styles


def apply_plan_to_package(pkg: Package, plan: Plan, header_rows: dict[str, int] | None = None,
                          progress: Callable[[str], None] | None = None) -> Package:
    """Stage the plan's changes in ``pkg`` (written by :meth:`Package.write`). The plan's cell
    writes are consumed (emptied) as each sheet is staged, to free them early."""
    say = progress or (lambda _m: None)
    styles = Styles(pkg.get("xl/styles.xml").decode("utf-8"))
    sheets = pkg.sheets()
    for edit in plan.edits:
        part = sheets.get(edit.sheet)
        if part is None:
            raise ValueError(f"sheet {edit.sheet!r} not found in the workbook")
        say(f"writing {edit.cell_count} cells to {edit.sheet}")
        pieces, changed = edit_sheet(pkg.get(part), edit, styles,
                                     (header_rows or {}).get(edit.sheet))
        edit.writes, edit.columns = [], []  # applied: free them before the next sheet
        pkg.set_pieces(part, pieces, changed)
    for sheet in plan.sheets:
        say(f"writing sheet {sheet.name}")
        apply_generated(pkg, sheet, styles)
    pkg.set("xl/styles.xml", styles.xml.encode("utf-8"))
    return pkg
