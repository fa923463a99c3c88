"""The sheets forecourt generates (Issues, KPI, Log), with their drawings and charts:
rebuilt on every run, and added to workbook.xml, its relationships and
[Content_Types].xml when new. A generated sheet is known by its A1 (:func:`is_ours`): a
dealer's sheet of the same name is left alone, ours is then named "Issues (forecourt)".
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re

from forecourt.plan import Chart, GeneratedSheet
from forecourt.sync.base import column_index, column_letter
from forecourt.sync.xlsx.package import (
    CT_CHART,
    CT_DRAWING,
    CT_SHEET,
    NS_MAIN,
    NS_REL,
    REL_CHART,
    REL_DRAWING,
    Package,
    _add_sheet,
    _content_types,
    _drop_sheet_extras,
    _rels_path,
    is_ours,
    rels_xml,
)
from forecourt.sync.xlsx.sheetdata import _REFS, _cell_tail
from forecourt.sync.xlsx.styles import DATE_FORMAT, Styles
from forecourt.sync.xlsx.xmltext import _attr, _text


def generated_sheet_xml(sheet: GeneratedSheet, styles: Styles, drawing_rel: str | None) -> bytes:
    bold = styles.cell_style(bold=True)
    link = styles.cell_style(link=True)
    date_style = styles.cell_style(DATE_FORMAT)
    col_styles = {col: styles.cell_style(fmt) for col, fmt in sheet.formats.items()}
    width = max((len(r) for r in sheet.rows), default=1)
    letters = [column_letter(j) for j in range(width)]
    refs = [_REFS[j] for j in range(width)]
    number_style = [col_styles.get(letter, 0) for letter in letters]  # numbers, by column
    dates_style = [col_styles.get(letter, date_style) for letter in letters]
    links = sheet.links
    rows = []
    for i, values in enumerate(sheet.rows, start=1):
        number = b"%d" % i
        cells = [b'<row r="', number, b'">']
        bold_row = i in sheet.bold_rows
        for j, value in enumerate(values):
            kind = value.__class__
            if links and (i, letters[j]) in links:
                style = link
            elif bold_row:
                style = bold
            elif kind is not bool and isinstance(value, int | float):
                style = number_style[j]
            else:
                style = 0
            tail = _cell_tail(kind, value, style,
                              dates_style[j] if isinstance(value, dt.datetime) else date_style)
            if tail:
                cells += (refs[j], number, tail)
        cells.append(b"</row>")
        rows.append(b"".join(cells))
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
             f'xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetPr><pageSetUpPr fitToPage="1"/>'
             f'</sheetPr><dimension ref="A1:'
             f'{column_letter(max(width - 1, 0))}{max(len(sheet.rows), 1)}"/>'.encode()]
    if sheet.freeze_row:
        parts.append(f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{sheet.freeze_row}"'
                     f' topLeftCell="A{sheet.freeze_row + 1}" activePane="bottomLeft" '
                     f'state="frozen"/></sheetView></sheetViews>'.encode())
    parts.append(b'<sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        cols = "".join(f'<col min="{column_index(c) + 1}" max="{column_index(c) + 1}" width="{w}" '
                       f'customWidth="1"/>' for c, w in
                       sorted(sheet.widths.items(), key=lambda kv: column_index(kv[0])))
        parts.append(f"<cols>{cols}</cols>".encode())
    parts.append(b"<sheetData>" + b"".join(rows) + b"</sheetData>")
    if sheet.links:
        links = "".join(f'<hyperlink ref="{col}{row}" location="{_attr(target)}"/>'
                        for (row, col), target in sorted(sheet.links.items()))
        parts.append(f"<hyperlinks>{links}</hyperlinks>".encode())
    parts.append(b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                 b'footer="0.3"/>')
    # One page wide, as many pages down as it takes; landscape for the KPI sheet's charts.
    parts.append(b'<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" '
                 b'fitToHeight="0"/>')
    breaks = page_breaks(len(sheet.rows), sheet.charts, _page_rows(sheet, width))
    if breaks:
        brks = "".join(f'<brk id="{r}" max="16383" man="1"/>' for r in breaks)
        parts.append(f'<rowBreaks count="{len(breaks)}" manualBreakCount="{len(breaks)}">'
                     f"{brks}</rowBreaks>".encode())
    if drawing_rel:
        parts.append(f'<drawing r:id="{drawing_rel}"/>'.encode())
    parts.append(b"</worksheet>")
    return b"".join(parts)


# Rows of the default height that fit on a landscape A4 page at full size. Fitting the sheet to
# the page's width only ever shrinks it, so a page of this many rows always fits, and no
# automatic break falls between the manual ones.
PAGE_ROWS = 30


# Landscape A4 less the margins above, in points; a column of width w (characters) is about
# 7w + 5 pixels, 0.75 points each (Excel's and LibreOffice's default font).
_PRINT_WIDTH = 842 - 2 * 0.7 * 72
_DEFAULT_WIDTH = 8.43


def _page_rows(sheet: GeneratedSheet, columns: int) -> int:
    """Rows per printed page once the sheet is shrunk to the page's width: the wider the
    sheet, the more rows fit. Estimated a tenth on the safe side (fewer rows), since a page
    that ends before the estimate is cut by the program wherever it likes."""
    right = max([columns, *(column_index(re.match(r"[A-Z]+", c.anchor).group(0)) + c.width_cols
                            for c in sheet.charts if re.match(r"[A-Z]+", c.anchor))])
    points = sum((sheet.widths.get(column_letter(j), _DEFAULT_WIDTH) * 7 + 5) * 0.75
                 for j in range(right))
    scale = min(1.0, 1.1 * _PRINT_WIDTH / points) if points else 1.0
    return max(PAGE_ROWS, int(PAGE_ROWS / scale))


def page_breaks(rows: int, charts: list[Chart], page_rows: int = PAGE_ROWS) -> list[int]:
    """The rows after which a printed page ends (Excel's ``brk id``): every ``page_rows``
    rows, or sooner where a chart would be cut in two (it then starts the next page)."""
    spans = []
    for chart in charts:
        m = re.match(r"[A-Z]+(\d+)", chart.anchor)
        if m:
            top = int(m.group(1)) - 1  # rows above the chart
            spans.append((top, top + chart.height_rows))
    last = max([rows, *(bottom for _, bottom in spans)])
    breaks, start = [], 0
    while start + page_rows < last:
        end = start + page_rows
        cut = [top for top, bottom in spans if top < end < bottom and top > start]
        end = min(cut) if cut else end
        breaks.append(end)
        start = end
    return breaks


def _cell_ref(sheet: str, rng: str) -> str:
    a, _, b = rng.partition(":")
    abs_ = [re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", x) for x in (a, b or a)]
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{abs_[0]}:{abs_[1]}"


def chart_xml(chart: Chart, sheet: str) -> bytes:
    """A native clustered bar/column chart over ranges of ``sheet``.

    The XML is what openpyxl's chart writer produces for the same chart (categories as a
    string reference), kept as a template so a run does not import openpyxl. No cached
    values: the spreadsheet computes them from the cells when it opens the file.
    """
    series = "".join(
        f'<ser><idx val="{k}" /><order val="{k}" /><tx><v>{_text(s.title)}</v></tx>'
        f'<spPr><a:ln><a:prstDash val="solid" /></a:ln></spPr>'
        f"<cat><strRef><f>{_text(_cell_ref(sheet, chart.categories))}</f></strRef></cat>"
        f"<val><numRef><f>{_text(_cell_ref(sheet, s.values))}</f></numRef></val></ser>"
        for k, s in enumerate(chart.series))
    scaling = '<orientation val="minMax" />' + (
        '<max val="1" /><min val="0" />' if chart.percent_axis else "")
    number_format = '<numFmt formatCode="0%" sourceLinked="0" />' if chart.percent_axis else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<chartSpace xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns="http://schemas.openxmlformats.org/drawingml/2006/chart"><style val="10" />'
        "<chart><title><tx><rich><a:bodyPr /><a:p><a:pPr><a:defRPr /></a:pPr><a:r><a:t>"
        f"{_text(chart.title)}</a:t></a:r></a:p></rich></tx></title><plotArea><barChart>"
        f'<barDir val="{chart.kind}" /><grouping val="clustered" />{series}'
        '<gapWidth val="150" /><axId val="10" /><axId val="100" /></barChart><catAx>'
        '<axId val="10" /><scaling><orientation val="minMax" /></scaling><delete val="0" />'
        '<axPos val="l" /><majorTickMark val="none" /><minorTickMark val="none" />'
        '<crossAx val="100" /><lblOffset val="100" /></catAx><valAx><axId val="100" />'
        f'<scaling>{scaling}</scaling><delete val="0" /><axPos val="l" /><majorGridlines />'
        f'{number_format}<majorTickMark val="none" /><minorTickMark val="none" />'
        '<crossAx val="10" /></valAx></plotArea><legend><legendPos val="b" /></legend>'
        '<plotVisOnly val="1" /><dispBlanksAs val="gap" /></chart></chartSpace>'
    ).encode()


def drawing_xml(charts: list[Chart], rel_ids: list[str]) -> bytes:
    anchors = []
    for k, (chart, rid) in enumerate(zip(charts, rel_ids, strict=True), start=1):
        m = re.match(r"([A-Z]+)(\d+)", chart.anchor)
        assert m
        c0, r0 = column_index(m.group(1)), int(m.group(2)) - 1
        anchors.append(
            f"<xdr:twoCellAnchor><xdr:from><xdr:col>{c0}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{r0}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>"
            f"{c0 + chart.width_cols}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>"
            f"{r0 + chart.height_rows}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{k + 1}" '
            f'name="Chart {k}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm>'
            f'<a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm><a:graphic><a:graphicData '
            f'uri="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart '
            f'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" r:id="{rid}"/>'
            f"</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/>"
            f"</xdr:twoCellAnchor>")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr '
            'xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            f'xmlns:r="{NS_REL}">' + "".join(anchors) + "</xdr:wsDr>").encode()


def apply_generated(pkg: Package, sheet: GeneratedSheet, styles: Styles) -> str:
    """Write (or rewrite) a generated sheet; returns the sheet name used."""
    sheets = pkg.sheets()
    name = sheet.name
    part = sheets.get(name)
    if part is not None and not is_ours(pkg.get(part) if pkg.has(part) else b""):
        name = f"{sheet.name} (forecourt)"
        part = sheets.get(name)
    removed: set[str] = set()
    if part is None:
        part = pkg.unused("xl/worksheets/sheet{}.xml")
        _add_sheet(pkg, name, part)
    else:
        removed = _drop_sheet_extras(pkg, part)
    add_types = {part: CT_SHEET}
    drawing_rel = None
    if sheet.charts:
        drawing = pkg.unused("xl/drawings/drawing{}.xml")
        chart_rels = []
        for k, chart in enumerate(sheet.charts, start=1):
            chart_part = pkg.unused("xl/charts/chart{}.xml")
            pkg.set(chart_part, chart_xml(chart, name))
            add_types[chart_part] = CT_CHART
            chart_rels.append((f"rId{k}", REL_CHART, "../charts/" + posixpath.basename(chart_part)))
        pkg.set(drawing, drawing_xml(sheet.charts, [r[0] for r in chart_rels]))
        pkg.set(_rels_path(drawing), rels_xml(chart_rels))
        add_types[drawing] = CT_DRAWING
        pkg.set(_rels_path(part), rels_xml([("rId1", REL_DRAWING,
                                             "../drawings/" + posixpath.basename(drawing))]))
        drawing_rel = "rId1"
    pkg.set(part, generated_sheet_xml(sheet, styles, drawing_rel))
    _content_types(pkg, add_types, removed - set(add_types))
    return name
