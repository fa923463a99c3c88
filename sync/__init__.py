"""Backends that read and write workbooks (installed as forecourt.sync)."""
