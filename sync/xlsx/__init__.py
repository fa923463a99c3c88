"""The .xlsx/.xlsm backend: reading a workbook's values, and applying a plan to its file.

Values are read with python-calamine (Rust, no XML entity expansion, a fraction of openpyxl's
time and memory), after safety checks on the zip package. A plan is applied without re-saving
the workbook: openpyxl drops charts and images when it re-saves a workbook and needs ~43 s and
0.9 GB for a 100k-lead book, so the package is edited instead: every zip part the plan does not
touch is copied unchanged (charts, images, pivot tables, comments, the VBA project...), and the
few parts it does touch are edited as text.

* :mod:`.backend`: :class:`XlsxBackend`, the file behind the backend interface
  (:mod:`forecourt.sync.backend`): read, apply a plan, commit, and the file's safety around a
  run (locks, read-only, debris);
* :mod:`.create`: a new workbook from rows of values (:func:`create_workbook`: the demo);
* :mod:`.highlight`: the plan's neutral highlighting rules as Excel conditional formats;
* :mod:`.reader`: the package's safety checks, then every sheet's values (:func:`read_tabs`,
  :class:`PendingTabs`);
* :mod:`.package`: the zip package (:class:`Package`), its part paths and relationships, and
  writing it over the workbook in one step with a backup (:func:`replace_atomically`);
* :mod:`.apply`: :func:`apply_plan_to_package`, staging a plan's changes in the package with
  :mod:`.sheetdata` (a worksheet's cells, dimension, widths and conditional formats),
  :mod:`.styles` (``xl/styles.xml``) and :mod:`.generated` (the Issues, KPI and Log sheets,
  their drawings and charts);
* :mod:`.xmltext`: escaping XML text.

Reading imports none of the writing modules; :mod:`.package` and :mod:`.xmltext` are all they
share. The names below load on first use, so importing this package imports nothing heavy
(``forecourt run`` starts reading while pandas and pandera import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forecourt.sync.xlsx.apply import apply_plan_to_package
    from forecourt.sync.xlsx.backend import XlsxBackend
    from forecourt.sync.xlsx.create import NewSheet, create_workbook
    from forecourt.sync.xlsx.package import (
        TEMP_PREFIX,
        Package,
        backup_path,
        replace_atomically,
    )
    from forecourt.sync.xlsx.reader import (
        MAX_UNCOMPRESSED,
        PARALLEL_REST,
        PendingTabs,
        check_package,
        read_tabs,
    )

_LAZY = {
    "MAX_UNCOMPRESSED": "reader",
    "PARALLEL_REST": "reader",
    "PendingTabs": "reader",
    "check_package": "reader",
    "read_tabs": "reader",
    "TEMP_PREFIX": "package",
    "Package": "package",
    "backup_path": "package",
    "replace_atomically": "package",
    "apply_plan_to_package": "apply",
    "XlsxBackend": "backend",
    "NewSheet": "create", "create_workbook": "create",  # a new workbook from plain content
}

__all__ = [
    "MAX_UNCOMPRESSED",
    "NewSheet",
    "PARALLEL_REST",
    "TEMP_PREFIX",
    "Package",
    "PendingTabs",
    "XlsxBackend",
    "apply_plan_to_package",
    "backup_path",
    "check_package",
    "create_workbook",
    "read_tabs",
    "replace_atomically",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
