"""xl/styles.xml: the date format, bold header, link font and conditional-format colours
the engine needs, added once (found again on later runs, never duplicated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forecourt.sync.xlsx.xmltext import _attr

DATE_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass
class Styles:
    """xl/styles.xml as text, with the few entries the engine needs appended once."""

    xml: str
    _date_cache: dict[int, bool] = field(default_factory=dict)

    def _section(self, tag: str) -> tuple[int, int] | None:
        m = re.search(rf"<{tag}\b[^>]*?(/>|>.*?</{tag}>)", self.xml, re.S)
        return (m.start(), m.end()) if m else None

    def _add(self, tag: str, child: str, element: str, after: tuple[str, ...]) -> int:
        """Index of ``element`` among ``tag``'s children, appending it when missing."""
        span = self._section(tag)
        if span is None:
            pos = self._insert_point(after)
            self.xml = self.xml[:pos] + f'<{tag} count="0"></{tag}>' + self.xml[pos:]
            span = self._section(tag)
        assert span is not None
        start, end = span
        block = self.xml[start:end]
        if block.endswith("/>"):
            block = block[:-2].rstrip() + f"></{tag}>"
        body_start = block.index(">") + 1
        body = block[body_start: -len(f"</{tag}>")]
        children = re.findall(rf"<{child}\b[^>]*?(?:/>|>.*?</{child}>)", body, re.S)
        if element in children:
            return children.index(element)
        head = re.sub(r'\bcount="\d+"', f'count="{len(children) + 1}"', block[:body_start])
        if "count=" not in head:
            head = head[:-1] + f' count="{len(children) + 1}">'
        self.xml = self.xml[:start] + head + body + element + f"</{tag}>" + self.xml[end:]
        return len(children)

    def _insert_point(self, after: tuple[str, ...]) -> int:
        for tag in after:
            ends = [m.end() for m in re.finditer(rf"</{tag}>|<{tag}\b[^>]*/>", self.xml)]
            if ends:
                return ends[-1]
        return self.xml.index(">", self.xml.index("<styleSheet")) + 1

    def number_format(self, code: str) -> int:
        for m in re.finditer(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"',
                             self.xml):
            if m.group(2) == _attr(code):
                return int(m.group(1))
        ids = [int(i) for i in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"', self.xml)]
        new_id = max([163, *ids]) + 1
        self._add("numFmts", "numFmt", f'<numFmt numFmtId="{new_id}" formatCode="{_attr(code)}"/>',
                  ())
        return new_id

    def cell_style(self, number_format: str | None = None, bold: bool = False,
                   link: bool = False) -> int:
        """A cellXfs index for a plain cell with this number format / font."""
        fmt_id = self.number_format(number_format) if number_format else 0
        font_id = 0
        if bold:
            font_id = self._add("fonts", "font", '<font><b/><sz val="11"/></font>',
                                ("numFmts",))
        elif link:
            font_id = self._add("fonts", "font",
                                '<font><u/><sz val="11"/><color rgb="FF0563C1"/></font>',
                                ("numFmts",))
        apply_fmt = ' applyNumberFormat="1"' if fmt_id else ""
        apply_font = ' applyFont="1"' if font_id else ""
        xf = (f'<xf numFmtId="{fmt_id}" fontId="{font_id}" fillId="0" borderId="0" xfId="0"'
              f"{apply_fmt}{apply_font}/>")
        return self._add("cellXfs", "xf", xf, ("cellStyleXfs", "borders"))

    def dxf(self, fill: str, font: str | None) -> int:
        font_xml = f'<font><color rgb="FF{font}"/></font>' if font else ""
        element = (f'<dxf>{font_xml}<fill><patternFill patternType="solid">'
                   f'<bgColor rgb="FF{fill}"/></patternFill></fill></dxf>')
        return self._add("dxfs", "dxf", element, ("cellStyles", "cellXfs"))

    def is_date_style(self, index: int) -> bool:
        if index not in self._date_cache:
            self._date_cache[index] = self._is_date_style(index)
        return self._date_cache[index]

    def _is_date_style(self, index: int) -> bool:
        m = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", self.xml, re.S)
        if not m:
            return False
        xfs = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", m.group(1), re.S)
        if index >= len(xfs):
            return False
        fmt = re.search(r'numFmtId="(\d+)"', xfs[index])
        fmt_id = int(fmt.group(1)) if fmt else 0
        if 14 <= fmt_id <= 22 or 45 <= fmt_id <= 47:
            return True
        code = re.search(rf'<numFmt\b[^>]*numFmtId="{fmt_id}"[^>]*formatCode="([^"]*)"',
                         self.xml)
        return bool(code and re.search(r"[dmyhs]", re.sub(r'"[^"]*"|\[[^]]*]', "",
                                                          code.group(1)), re.I))

