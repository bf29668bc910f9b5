"""Route sheets (派送路单) for drivers: one per dispatch batch, as a printable HTML page and a PDF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.config import WEEKDAY_LABELS, from_epoch_minutes, local
from logistics.fonts import cjk_font
from logistics.models import DispatchBatch, LogisticsNode, Route, Shipment, ShipmentLeg
from shop.errors import NotFound

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True, slots=True)
class SheetLine:
    shipment_id: int
    order_id: int
    final_stop: str
    recipient: str
    weight_g: int
    fresh_until: str


@dataclass(frozen=True, slots=True)
class RouteSheet:
    batch_id: int
    route_name: str
    origin: str
    destination: str
    destination_address: str
    destination_contact: str
    departs: str
    arrives: str
    status: str
    lines: list[SheetLine]

    @property
    def total_weight_kg(self) -> str:
        grams = sum(line.weight_g for line in self.lines)
        return f"{grams // 1000}.{grams % 1000:03d}"


def mask_name(name: str) -> str:
    """A driver needs a surname to hand over, not the full name: 王小明 → 王**."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


async def build_sheet(session: AsyncSession, batch_id: int) -> RouteSheet:
    batch = await session.get(DispatchBatch, batch_id)
    if batch is None:
        raise NotFound(f"Batch {batch_id} not found.")
    route = await session.get(Route, batch.route_id)
    assert route is not None
    origin = await session.get(LogisticsNode, route.origin_id)
    destination = await session.get(LogisticsNode, route.destination_id)
    assert origin is not None and destination is not None
    rows = (
        await session.execute(
            select(Shipment, LogisticsNode.name)
            .join(ShipmentLeg, ShipmentLeg.shipment_id == Shipment.id)
            .outerjoin(LogisticsNode, LogisticsNode.id == Shipment.pickup_point_id)
            .where(ShipmentLeg.batch_id == batch.id)
            .order_by(LogisticsNode.name, Shipment.id)
        )
    ).all()
    lines = [
        SheetLine(
            s.id,
            s.order_id,
            point_name or "",
            mask_name(s.recipient_name),
            s.weight_g,
            s.fresh_until.isoformat() if s.fresh_until else "",
        )
        for s, point_name in rows
    ]
    departs, arrives = local(from_epoch_minutes(batch.departs_min)), local(from_epoch_minutes(batch.arrives_min))
    return RouteSheet(
        batch.id,
        route.name,
        origin.name,
        destination.name,
        destination.address,
        destination.contact_name,
        f"{departs:%Y-%m-%d} {WEEKDAY_LABELS[departs.weekday()]} {departs:%H:%M}",
        f"{arrives:%Y-%m-%d} {WEEKDAY_LABELS[arrives.weekday()]} {arrives:%H:%M}",
        "已到达" if batch.status.value == "arrived" else "待发车",
        lines,
    )


def render_html(sheet: RouteSheet) -> str:
    return _templates.get_template("route_sheet.html").render(sheet=sheet)


def render_pdf(sheet: RouteSheet) -> bytes:
    font_path, index = cjk_font()
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=str(font_path), collection_font_number=index)
    pdf.set_title(f"丽水山递 派送路单 #{sheet.batch_id}")
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, f"丽水山递 · 派送路单 #{sheet.batch_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    for label, value in (
        ("线路", sheet.route_name),
        ("起点", sheet.origin),
        ("终点", f"{sheet.destination} {sheet.destination_address}"),
        ("联系人", sheet.destination_contact),
        ("发车", sheet.departs),
        ("预计到达", sheet.arrives),
        ("件数 / 重量", f"{len(sheet.lines)} 件 / {sheet.total_weight_kg} kg"),
        ("状态", sheet.status),
    ):
        pdf.cell(28, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(
        col_widths=(16, 20, 24, 58, 22, 24, 26),
        text_align="LEFT",
        line_height=6,
        headings_style=FontFace(emphasis="", fill_color=(230, 230, 230)),
    ) as table:
        table.row(["序号", "包裹", "订单", "取件点", "收件人", "重量(g)", "鲜品保质至"])
        for n, line in enumerate(sheet.lines, start=1):
            table.row(
                [
                    str(n),
                    str(line.shipment_id),
                    str(line.order_id),
                    line.final_stop,
                    line.recipient,
                    str(line.weight_g),
                    line.fresh_until,
                ]
            )
    pdf.ln(8)
    pdf.cell(0, 8, "司机签字：____________    交接人签字：____________    时间：____________")
    return bytes(pdf.output())
