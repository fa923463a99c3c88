"""VBA macros shipped with the workbooks (filled by a later issue)."""
