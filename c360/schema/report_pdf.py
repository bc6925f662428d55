"""The PDF layout of a :class:`~c360.schema.report_model.ReportView` (fpdf2): an
A4 document whose text is set in one embedded CJK font subset, tables with
shaded rows, and a footer on every page. :mod:`c360.schema.report_render`
chooses the font. Importing fpdf2 and fontTools takes a fifth of a second, so
the report endpoint loads this module when a PDF is first asked for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fpdf import FPDF
from fpdf.enums import TableCellFillMode
from fpdf.fonts import FontFace

from c360.schema.report_model import ReportView, Table
from c360.schema.report_render import FontChoice, find_font, report_footer

FONT = "report-cjk"
HEADINGS = FontFace(emphasis="", fill_color=(214, 224, 240))
"""Headings told by their fill: one face only (loading a CJK face costs a second)."""


class _ReportPDF(FPDF):
    def __init__(self, view: ReportView) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.view = view

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(110)
        self.cell(
            0,
            5,
            f"{self.view.title} · 客户 {self.view.customer_id} · 用途 {self.view.purpose} · "
            f"第 {self.page_no()} 页",
            align="C",
        )


@contextmanager
def _colour(pdf: FPDF, grey: int) -> Iterator[None]:
    pdf.set_text_color(grey)
    try:
        yield
    finally:
        pdf.set_text_color(0)


def _column_widths(table: Table) -> tuple[float, ...]:
    """Relative widths by what the columns hold (a long checks column gets the
    room, a yes / no column little), each between 8 and 40 characters' worth."""

    def width(text: str) -> int:
        return sum(2 if ord(c) > 0x2E80 else 1 for c in text)  # CJK: two columns wide

    widths = []
    for i, heading in enumerate(table.columns):
        cells = [row[i] for row in table.rows if i < len(row)]
        longest = max([width(heading) // 2, *(width(c) for c in cells)])
        widths.append(float(min(max(longest, 8), 40)))
    return tuple(widths)


def _pdf_table(pdf: FPDF, table: Table) -> None:
    if table.title:
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 6, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=7.5 if len(table.columns) > 6 else 8.5)
    with pdf.table(
        col_widths=_column_widths(table),
        text_align="LEFT",
        headings_style=HEADINGS,
        line_height=4.2,
        padding=1,
        cell_fill_color=(238, 242, 248),
        cell_fill_mode=TableCellFillMode.ROWS,
        first_row_as_headings=True,
    ) as rendered:
        rendered.row(table.columns)
        for row in table.rows:
            rendered.row(row)
    pdf.ln(2)


def render_pdf(view: ReportView, font: FontChoice | None = None) -> bytes:
    """The report as a PDF (A4), set in ``font`` (default :func:`find_font`)."""
    font = font or find_font()
    pdf = _ReportPDF(view)
    # Parsed for each PDF: fpdf2 subsets the parsed face in place when it writes.
    pdf.add_font(FONT, "", str(font.path), collection_font_number=font.index)
    pdf.set_title(f"{view.title} {view.customer_id}")
    pdf.set_creator("c360")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, size=17)
    pdf.multi_cell(0, 9, view.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    with _colour(pdf, 80):
        pdf.multi_cell(
            0,
            5,
            f"客户 customer {view.customer_id} · 用途 purpose {view.purpose} · 生成 "
            f"{view.generated_at:%Y-%m-%d %H:%M} UTC · {view.generated_for}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    for section in view.sections:
        pdf.ln(3)
        pdf.set_font(FONT, size=12.5)
        pdf.multi_cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=9)
        for line in section.lines:
            pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        for table in section.tables:
            _pdf_table(pdf, table)
    pdf.ln(3)
    pdf.set_font(FONT, size=8)
    with _colour(pdf, 90):
        pdf.multi_cell(0, 4.5, report_footer(view), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


__all__ = ["render_pdf"]
