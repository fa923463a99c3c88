"""Starter workbooks written by ``forecourt new`` (refresh: ``python -m forecourt.starter``)."""
