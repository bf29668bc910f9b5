"""Printable PDF statements with correct Chinese text (fpdf2 + Noto Sans SC).

The font comes from a PyPI package (`pylopdf-fonts-zh-cn`, SIL OFL), so a fresh machine renders Chinese after the
ordinary install; `HUB_CJK_FONT` may point at another OTF/TTF (e.g. Debian's fonts-noto-cjk). Handing fpdf2 the
whole 8 MB CJK font costs about a second per document (it parses and subsets it every time), so the font is parsed
once per process and each document gets a tiny TrueType font holding just the glyphs it uses; converted glyphs are
cached, which makes a statement take a few tens of milliseconds.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from fontTools import ttLib
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import newTable
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF

from shop.benefits.schemas import StatementOut
from shop.benefits.services.statements import KIND_ZH
from shop.money import format_yuan

KIND_LABEL = {
    "member": "成员",
    "household": "农户",
    "worker": "务工人员",
    "grower": "种植户",
    "collective": "村集体",
    "streamer": "村播",
}


def font_path() -> Path:
    configured = os.environ.get("HUB_CJK_FONT")
    if configured:
        return Path(configured)
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.sans_path())


class CjkFont:
    """One parsed CJK font; `subset(text)` builds a small TrueType font with the glyphs `text` needs."""

    def __init__(self, path: Path) -> None:
        self.master = ttLib.TTFont(str(path), lazy=True)
        self.cmap: dict[int, str] = self.master.getBestCmap()
        self.glyph_set = self.master.getGlyphSet()
        self.metrics = self.master["hmtx"].metrics
        self.upem = self.master["head"].unitsPerEm
        self.hhea = self.master["hhea"]
        self.os2 = self.master["OS/2"]
        self._glyphs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _glyph(self, name: str) -> Glyph:
        data = self._glyphs.get(name)
        if data is None:
            pen = TTGlyphPen(None)
            self.glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyph = pen.glyph()
            glyph.recalcBounds(None)
            data = self._glyphs[name] = glyph.compile(None, recalcBBoxes=False)
        return Glyph(data)  # compiled once; later documents copy the bytes

    def subset(self, text: str) -> bytes:
        codepoints = sorted({ord(c) for c in text} & self.cmap.keys())
        names = [".notdef", *sorted({self.cmap[c] for c in codepoints} - {".notdef"})]
        with self._lock:
            glyphs = {n: self._glyph(n) for n in names}
        fb = FontBuilder(self.upem, isTTF=True)
        fb.setupGlyphOrder(names)
        fb.setupCharacterMap({c: self.cmap[c] for c in codepoints})
        fb.font["loca"] = newTable("loca")
        glyf = fb.font["glyf"] = newTable("glyf")
        glyf.glyphs, glyf.glyphOrder = glyphs, names
        fb.setupHorizontalMetrics({n: self.metrics[n] for n in names})
        fb.setupHorizontalHeader(ascent=self.hhea.ascent, descent=self.hhea.descent)
        fb.setupNameTable({"familyName": "HubCJK", "styleName": "Regular"})
        fb.setupOS2(
            sTypoAscender=self.os2.sTypoAscender,
            sTypoDescender=self.os2.sTypoDescender,
            usWinAscent=self.os2.usWinAscent,
            usWinDescent=self.os2.usWinDescent,
            sCapHeight=getattr(self.os2, "sCapHeight", 733),
            usWeightClass=400,
        )
        fb.setupPost()
        fb.font.recalcBBoxes = False  # bounds were computed when each glyph was converted
        buffer = io.BytesIO()
        fb.save(buffer)
        return buffer.getvalue()


@lru_cache(maxsize=1)
def cjk_font() -> CjkFont:
    return CjkFont(font_path())


def _texts(st: StatementOut) -> list[str]:
    return [st.member_name, st.sms, *(ln.description for ln in st.lines), *(ln.workshop_name for ln in st.lines)]


HEADER = "共富工坊 月度收益对账单"


def render_pdf(st: StatementOut, workshop_hint: str = "") -> bytes:
    """A4 statement: header, member, one row per line with its source, month total and year to date."""
    rows = [(KIND_ZH[ln.kind], ln.workshop_name or "—", ln.description, format_yuan(ln.amount_fen)) for ln in st.lines]
    title = f"{st.month[:4]}年{int(st.month[5:])}月"
    member = f"{st.member_name}（{KIND_LABEL.get(st.member_kind.value, st.member_kind.value)}，编号 {st.member_id}）"
    totals = [f"本月合计：{format_yuan(st.total_fen)}", f"本年累计：{format_yuan(st.ytd_fen)}"]
    all_text = "".join(
        [
            HEADER,
            title,
            member,
            *totals,
            "类别工坊说明金额来源—（）：，。/×#",
            workshop_hint,
            *(c for row in rows for c in row),
            "0123456789.-¥,",
        ]
    )
    font_bytes = cjk_font().subset(all_text)
    with tempfile.NamedTemporaryFile(suffix=".ttf", delete=False) as tmp:
        tmp.write(font_bytes)
    try:
        pdf = FPDF(format="A4")
        pdf.set_title(f"{HEADER} {title} {st.member_name}")
        pdf.set_auto_page_break(True, margin=15)
        pdf.add_font("cjk", fname=tmp.name)
        pdf.fonts["cjk"].ttfont.recalcBBoxes = False  # type: ignore[union-attr]
        pdf.add_page()
        _body(pdf, title, member, rows, totals)
        return bytes(pdf.output())
    finally:
        os.unlink(tmp.name)


COLUMNS = (18.0, 34.0, 112.0, 26.0)  # mm: kind, workshop, description (source), amount
ROW_HEIGHT = 5.5


def _row(pdf: Any, cells: tuple[str, str, str, str], fill: bool = False) -> None:
    """One bordered table row; only a row whose text does not fit on one line pays for line breaking."""
    fits = all(pdf.get_string_width(text) <= width - 2.2 for text, width in zip(cells, COLUMNS, strict=True))
    lines = (
        1
        if fits
        else max(
            len(pdf.multi_cell(width, ROW_HEIGHT, text, dry_run=True, output="LINES"))
            for text, width in zip(cells, COLUMNS, strict=True)
        )
    )
    height = ROW_HEIGHT * lines
    if pdf.will_page_break(height):
        pdf.add_page()
    x, y = pdf.l_margin, pdf.get_y()
    for i, (text, width) in enumerate(zip(cells, COLUMNS, strict=True)):
        align = "R" if i == 3 else "L"
        pdf.set_xy(x, y)
        if fits:
            pdf.cell(width, height, text, border=1, align=align, fill=fill)
        else:
            pdf.rect(x, y, width, height, style="DF" if fill else "D")
            pdf.multi_cell(width, ROW_HEIGHT, text, align=align)
        x += width
    pdf.set_xy(pdf.l_margin, y + height)


def _body(pdf: Any, title: str, member: str, rows: list[tuple[str, str, str, str]], totals: list[str]) -> None:
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, f"{HEADER}  {title}", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 8, member, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=9)
    pdf.set_fill_color(240, 236, 228)
    _row(pdf, ("类别", "工坊", "说明（来源）", "金额"), fill=True)
    for row in rows:
        _row(pdf, row)
    pdf.ln(3)
    pdf.set_font("cjk", size=11)
    for text in totals:
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT", align="R")
