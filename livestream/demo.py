"""Livestream demo data (直播演示数据), loaded by `hub seed --demo` after the catalogue demo.

Two shared studios (丽水山耕直播间 at the service centre, a village studio in 上坪村), commission agreements for
the three demo streamers, and sessions around today: a few ended ones with figures for the reports and a few
upcoming ones in the coming days, each with a line-up of demo products.

Idempotent: studios by name, agreements by (streamer, valid_from), sessions by (streamer, title, start). Session
dates are relative to today (Asia/Shanghai), so a later run adds the new dates and keeps the old ones; an upcoming
session whose slot is already taken (studio or streamer) is skipped rather than double-booked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductVariant, Region, RegionLevel
from livestream.models import LineupItem, LiveSession, SessionStatus, StreamerAgreement, Studio
from livestream.services.common import SHANGHAI, new_share_code
from livestream.services.rules import ACTIVE_STATUSES
from shop.accounts.models import User

AGREEMENT_FROM = dt.date(2025, 1, 1)
CENTRE_STUDIO = "丽水山耕直播间"
VILLAGE_STUDIO = "上坪村共富直播间"

DAILY = {str(d): [["08:00", "22:00"]] for d in range(1, 8)}
# The village room is used after farm work: evenings on weekdays, most of the day at weekends.
VILLAGE_HOURS = {
    **{str(d): [["18:00", "22:00"]] for d in range(1, 6)},
    "6": [["09:00", "21:00"]],
    "7": [["09:00", "21:00"]],
}


@dataclass(frozen=True, slots=True)
class StudioSpec:
    name: str
    address: str
    village: str | None
    hours: dict[str, list[list[str]]]
    gap: int
    equipment: str


STUDIOS = (
    StudioSpec(
        CENTRE_STUDIO,
        "丽水市共富工坊综合服务中心二楼",
        None,
        DAILY,
        15,
        "补光灯 ×3、声卡、提词器、双机位、商品展示台",
    ),
    StudioSpec(
        VILLAGE_STUDIO,
        "青田县鹤塘乡上坪村文化礼堂",
        "上坪村",
        VILLAGE_HOURS,
        20,
        "环形灯 ×2、手机支架、红糖熬制现场机位",
    ),
)

AGREEMENTS = (("streamer_xiaoli", 800, "村播小李 · 标准协议"), ("streamer_ahua", 1000, ""), ("streamer_dawei", 600, ""))


@dataclass(frozen=True, slots=True)
class SessionSpec:
    streamer: str
    studio: str
    title: str
    day_offset: int  # from today (Asia/Shanghai); negative = already ended
    start: str
    minutes: int
    skus: tuple[str, ...]  # line-up, by the demo catalogue's first SKU of each product
    peak: int = 0
    total: int = 0


SESSIONS = (
    SessionSpec(
        "streamer_xiaoli", CENTRE_STUDIO, "丽水山耕·古法红糖专场", -6, "19:00", 120, ("ZWH-01-1", "ZWH-02-1"), 86, 412
    ),
    SessionSpec("streamer_xiaoli", VILLAGE_STUDIO, "上坪村甘蔗地里的直播", -3, "19:00", 90, ("ZWH-01-1",), 54, 230),
    SessionSpec(
        "streamer_ahua", CENTRE_STUDIO, "山里好物年货节预热", -2, "14:00", 120, ("SYYH-01-1", "CJP-03-1"), 120, 640
    ),
    SessionSpec("streamer_xiaoli", CENTRE_STUDIO, "冬日暖身·红糖姜茶", 1, "19:30", 120, ("ZWH-02-1", "ZWH-01-1")),
    SessionSpec("streamer_ahua", CENTRE_STUDIO, "丽水山耕·高山好茶", 2, "10:00", 90, ("SYYH-01-1",)),
    SessionSpec("streamer_xiaoli", VILLAGE_STUDIO, "村播小李带你逛工坊", 3, "19:00", 90, ("ZWH-01-1", "ZWH-05-1")),
    SessionSpec("streamer_dawei", VILLAGE_STUDIO, "村里的晚市·农家味道", 5, "19:00", 90, ("CJP-03-1", "YHTT-03-1")),
    SessionSpec(
        "streamer_xiaoli", CENTRE_STUDIO, "年货节·共富工坊好物联播", 8, "20:00", 120, ("ZWH-01-1", "SYYH-02-1")
    ),
)


async def _studios(session: AsyncSession) -> dict[str, Studio]:
    existing = {s.name: s for s in await session.scalars(select(Studio))}
    for spec in STUDIOS:
        if spec.name in existing:
            continue
        village_id = None
        if spec.village:
            village_id = await session.scalar(
                select(Region.id).where(Region.name == spec.village, Region.level == RegionLevel.VILLAGE).limit(1)
            )
        studio = Studio(
            name=spec.name,
            address=spec.address,
            village_id=village_id,
            opening_hours=spec.hours,
            turnover_gap_minutes=spec.gap,
            equipment_notes=spec.equipment,
            closures=[],
        )
        session.add(studio)
        existing[spec.name] = studio
    await session.flush()
    return existing


async def _products_by_sku(session: AsyncSession) -> dict[str, int]:
    skus = {sku for spec in SESSIONS for sku in spec.skus}
    rows = await session.execute(
        select(ProductVariant.sku, Product.id)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.sku.in_(skus))
    )
    return dict(rows.tuples().all())


async def _slot_taken(
    session: AsyncSession, studio: Studio, streamer_id: int, start: dt.datetime, end: dt.datetime
) -> bool:
    gap = dt.timedelta(minutes=studio.turnover_gap_minutes)
    clash = await session.scalar(
        select(LiveSession.id)
        .where(
            LiveSession.status.in_(ACTIVE_STATUSES),
            (
                (LiveSession.studio_id == studio.id)
                & (LiveSession.starts_at < end + gap)
                & (LiveSession.block_until > start)
            )
            | (
                (LiveSession.streamer_user_id == streamer_id)
                & (LiveSession.starts_at < end)
                & (LiveSession.ends_at > start)
            ),
        )
        .limit(1)
    )
    return clash is not None


async def load_demo(session: AsyncSession, *, today: dt.date | None = None) -> str:
    """Insert whatever part of the livestream demo is missing, and commit; returns a one-line summary."""
    today = today or dt.datetime.now(SHANGHAI).date()
    users = {
        u.username: u for u in await session.scalars(select(User).where(User.username.in_([a[0] for a in AGREEMENTS])))
    }
    if not users:
        return "skipped: the demo streamers are missing (load the catalogue demo first)"
    studios = await _studios(session)
    agreements = 0
    for username, bp, note in AGREEMENTS:
        user = users.get(username)
        if user is None:
            continue
        found = await session.scalar(
            select(StreamerAgreement.id).where(
                StreamerAgreement.streamer_user_id == user.id, StreamerAgreement.valid_from == AGREEMENT_FROM
            )
        )
        if found is None:
            session.add(
                StreamerAgreement(streamer_user_id=user.id, commission_bp=bp, valid_from=AGREEMENT_FROM, note=note)
            )
            agreements += 1
    await session.flush()
    products = await _products_by_sku(session)
    added = skipped = 0
    for spec in SESSIONS:
        user = users.get(spec.streamer)
        if user is None:
            continue
        studio = studios[spec.studio]
        day = today + dt.timedelta(days=spec.day_offset)
        start = dt.datetime.combine(day, dt.time.fromisoformat(spec.start), tzinfo=SHANGHAI).astimezone(dt.UTC)
        end = start + dt.timedelta(minutes=spec.minutes)
        exists = await session.scalar(
            select(LiveSession.id).where(
                LiveSession.streamer_user_id == user.id, LiveSession.title == spec.title, LiveSession.starts_at == start
            )
        )
        if exists is not None:
            continue
        past = spec.day_offset < 0
        if not past and await _slot_taken(session, studio, user.id, start, end):
            skipped += 1
            continue
        rate = next(bp for name, bp, _ in AGREEMENTS if name == spec.streamer)
        lineup = [p for p in (products.get(sku) for sku in spec.skus) if p is not None]
        session.add(
            LiveSession(
                studio_id=studio.id,
                streamer_user_id=user.id,
                title=spec.title,
                description="",
                starts_at=start,
                ends_at=end,
                block_until=end + dt.timedelta(minutes=studio.turnover_gap_minutes),
                status=SessionStatus.ENDED if past else SessionStatus.SCHEDULED,
                commission_bp=rate,
                share_code=new_share_code(),
                went_live_at=start if past else None,
                ended_at=end if past else None,
                peak_viewers=spec.peak,
                total_viewers=spec.total,
                lineup=[LineupItem(product_id=p, position=i) for i, p in enumerate(lineup)],
            )
        )
        await session.flush()
        added += 1
    await session.commit()
    return (
        f"{len(studios)} studios, {agreements} agreements added, {added} sessions added, {skipped} skipped (slot taken)"
    )
