"""A :class:`~c360.schema.report_model.ReportView` as a document: HTML (a page
with its own styles, every string escaped) or PDF (fpdf2, the text in an
embedded CJK font subset, so any reader shows it; the layout is
:mod:`c360.schema.report_pdf`).

The PDF's font is the first of ``C360_REPORT_FONT`` (a TrueType / OpenType
file or collection; ``path`` or ``path#index`` for a face of a collection)
and the fonts Debian's ``fonts-noto-cjk`` and ``fonts-wqy-microhei`` install
(Noto Sans CJK SC first). Without one, :class:`FontMissing` says how to get
one; HTML needs no font.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

from c360.schema.report_model import ReportView, Table

FONT_SETTING = "C360_REPORT_FONT"

KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # face 2: Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
)
"""Where Debian's CJK font packages put a Simplified-Chinese face, best first."""


class FontMissing(RuntimeError):
    """No CJK font to set the PDF in."""


@dataclass(frozen=True, slots=True)
class FontChoice:
    path: Path
    index: int


def find_font() -> FontChoice:
    """The PDF's font: ``C360_REPORT_FONT`` if set (it must exist), else the
    first installed of :data:`KNOWN_FONTS`."""
    configured = os.environ.get(FONT_SETTING, "").strip()
    if configured:
        name, _, index = configured.partition("#")
        path = Path(name).expanduser()
        if not path.is_file():
            raise FontMissing(f"{FONT_SETTING}: no font file at {path}")
        if index and not index.isdigit():
            raise FontMissing(f"{FONT_SETTING}: the face index after # must be a number")
        return FontChoice(path, int(index or 0))
    for known, face in KNOWN_FONTS:
        if Path(known).is_file():
            return FontChoice(Path(known), face)
    raise FontMissing(
        "no CJK font for the PDF: install Debian's fonts-noto-cjk (apt-get install "
        f"fonts-noto-cjk), or set {FONT_SETTING} to a TrueType/OpenType file with Chinese "
        "glyphs; --format html needs no font"
    )


# --- HTML -------------------------------------------------------------------------------

STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2em; color: #1a1a1a; font-size: 14px; }
h1 { font-size: 22px; border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { font-size: 17px; margin-top: 1.6em; border-left: 4px solid #36c; padding-left: .5em; }
h3 { font-size: 14px; margin: 1em 0 .3em; color: #444; }
table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
th, td { border: 1px solid #bbb; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
p.meta { color: #555; }
footer { margin-top: 2em; color: #666; font-size: 12px; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(table: Table) -> str:
    parts = []
    if table.title:
        parts.append(f"<h3>{_esc(table.title)}</h3>")
    head = "".join(f"<th>{_esc(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def report_footer(view: ReportView) -> str:
    masked = ", ".join(sorted(view.masked)) or "—"
    refused = ", ".join(sorted(view.refused)) or "—"
    return (
        f"按您的角色脱敏 masked for your role: {masked} · 不予显示 left out: {refused} · "
        "本报告的查阅已记入审计日志 this report's reading is on the audit log."
    )


def render_html(view: ReportView) -> str:
    """The report as one HTML page (UTF-8, no scripts, no external resources)."""
    sections = []
    for section in view.sections:
        lines = "".join(f"<p>{_esc(line)}</p>" for line in section.lines)
        tables = "".join(_html_table(t) for t in section.tables)
        sections.append(f"<section><h2>{_esc(section.title)}</h2>{lines}{tables}</section>")
    meta = (
        f"客户 customer {view.customer_id} · 用途 purpose {view.purpose} · "
        f"生成 {view.generated_at:%Y-%m-%d %H:%M} UTC · {view.generated_for}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_esc(view.title)} · {view.customer_id}</title><style>{STYLE}</style></head>"
        f'<body><h1>{_esc(view.title)}</h1><p class="meta">{_esc(meta)}</p>'
        f"{''.join(sections)}<footer>{_esc(report_footer(view))}</footer></body></html>\n"
    )


__all__ = [
    "FONT_SETTING",
    "FontChoice",
    "FontMissing",
    "find_font",
    "render_html",
    "report_footer",
]
