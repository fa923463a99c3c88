"""XML text for the parts the backend writes: escaping, and reading an attribute back."""

from __future__ import annotations

import re

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Element text: without the characters XML 1.0 forbids, markup escaped. (Not
    xml.sax.saxutils.escape, whose module imports urllib and http.client.)"""
    return (_BAD_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
