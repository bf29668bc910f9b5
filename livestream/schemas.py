"""Livestream request and response bodies. Times are ISO 8601; a time without an offset is Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from livestream.models import SessionStatus

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Text = Annotated[str, msgspec.Meta(max_length=5_000)]
Url = Annotated[str, msgspec.Meta(max_length=300)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Interval = Annotated[list[ClockTime], msgspec.Meta(min_length=2, max_length=2)]
Weekday = Literal["1", "2", "3", "4", "5", "6", "7"]
OpeningHours = dict[Weekday, Annotated[list[Interval], msgspec.Meta(max_length=4)]]
GapMinutes = Annotated[int, msgspec.Meta(ge=0, le=240)]
WindowMinutes = Annotated[int, msgspec.Meta(ge=0, le=43_200)]  # up to 30 days
ProductIds = Annotated[list[Id], msgspec.Meta(max_length=50)]
ViewerId = Annotated[str, msgspec.Meta(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Metric = Literal["gmv", "orders"]
Board = Literal["session", "streamer"]
ListStatus = Literal["live", "upcoming", "ended", "cancelled"]


# ---- studios -------------------------------------------------------------------------------------------------
class StudioIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    opening_hours: OpeningHours
    address: Annotated[str, msgspec.Meta(max_length=200)] = ""
    village_id: Id | None = None
    turnover_gap_minutes: GapMinutes = 15
    equipment_notes: Text = ""


class StudioUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    opening_hours: OpeningHours | None = None
    address: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    turnover_gap_minutes: GapMinutes | None = None
    equipment_notes: Text | None = None
    is_active: bool | None = None


class ClosureIn(msgspec.Struct, forbid_unknown_fields=True):
    day: dt.date
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class StudioOut(msgspec.Struct):
    id: int
    name: str
    address: str
    village_id: int | None
    opening_hours: dict[str, list[list[str]]]
    turnover_gap_minutes: int
    equipment_notes: str
    is_active: bool
    closed_days: list[dt.date]


class FreeSlot(msgspec.Struct):
    starts_at: dt.datetime
    ends_at: dt.datetime
    minutes: int


class FreeSlots(msgspec.Struct):
    studio_id: int
    day: dt.date
    turnover_gap_minutes: int
    slots: list[FreeSlot]


# ---- agreements ----------------------------------------------------------------------------------------------
class AgreementIn(msgspec.Struct, forbid_unknown_fields=True):
    commission_bp: BasisPoints
    valid_from: dt.date
    note: Annotated[str, msgspec.Meta(max_length=200)] = ""


class AgreementOut(msgspec.Struct):
    id: int
    streamer_user_id: int
    commission_bp: int
    valid_from: dt.date
    note: str


# ---- sessions ------------------------------------------------------------------------------------------------
class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    studio_id: Id
    title: Title
    starts_at: dt.datetime
    ends_at: dt.datetime
    product_ids: ProductIds = []
    streamer_user_id: Id | None = None  # centre staff book for a streamer; a streamer books for themself
    commission_bp: BasisPoints | None = None  # centre staff only; default: the streamer's agreement
    attribution_window_minutes: WindowMinutes | None = None  # centre staff only; default 24 h
    description: Text = ""
    cover_image_url: Url = ""


class SessionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Move (new times or studio) and/or edit a scheduled session; a move is checked by the same rules."""

    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    studio_id: Id | None = None
    title: Title | None = None
    description: Text | None = None
    cover_image_url: Url | None = None
    product_ids: ProductIds | None = None
    attribution_window_minutes: WindowMinutes | None = None


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=200)] = ""


class PinIn(msgspec.Struct, forbid_unknown_fields=True):
    product_id: Id | None  # null unpins


class LineupOut(msgspec.Struct):
    product_id: int
    title: str
    min_price_fen: int


class FiguresOut(msgspec.Struct):
    session_id: int
    viewers: int
    peak_viewers: int
    total_viewers: int
    orders: int
    gmv_fen: int


class SessionOut(msgspec.Struct):
    id: int
    title: str
    description: str
    cover_image_url: str
    status: SessionStatus
    studio_id: int
    studio_name: str
    streamer_user_id: int
    streamer_name: str
    series_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_local: str
    ends_local: str
    commission_bp: int
    attribution_window_minutes: int
    share_code: str
    share_url: str
    went_live_at: dt.datetime | None
    ended_at: dt.datetime | None
    pinned_product_id: int | None
    lineup: list[LineupOut]
    figures: FiguresOut | None = None


class SessionPage(msgspec.Struct):
    items: list[SessionOut]
    total: int
    page: int
    per_page: int


class ShareOut(msgspec.Struct):
    session_id: int
    share_code: str
    share_url: str
    qr_png_url: str


class ShareResolved(msgspec.Struct):
    session: SessionOut
    attributable: bool


# ---- series --------------------------------------------------------------------------------------------------
class SeriesCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Every week on `first_day`'s weekday from `start_time` to `end_time` (Asia/Shanghai) for `weeks` weeks."""

    studio_id: Id
    title: Title
    first_day: dt.date
    start_time: ClockTime
    end_time: ClockTime
    weeks: Annotated[int, msgspec.Meta(ge=1, le=52)]
    product_ids: ProductIds = []
    streamer_user_id: Id | None = None
    commission_bp: BasisPoints | None = None
    description: Text = ""
    cover_image_url: Url = ""


class SeriesOut(msgspec.Struct):
    id: int
    studio_id: int
    streamer_user_id: int
    title: str
    first_day: dt.date
    start_time: str
    duration_minutes: int
    weeks: int
    sessions: list[SessionOut]


# ---- live figures, leaderboards, reports ---------------------------------------------------------------------
class HeartbeatIn(msgspec.Struct, forbid_unknown_fields=True):
    viewer_id: ViewerId


class LeaderboardEntry(msgspec.Struct):
    rank: int
    id: int
    name: str
    value: int


class LeaderboardOut(msgspec.Struct):
    month: str
    board: Board
    metric: Metric
    entries: list[LeaderboardEntry]


class TopProduct(msgspec.Struct):
    product_id: int
    title: str
    gmv_fen: int


class SessionReport(msgspec.Struct):
    session_id: int
    title: str
    status: SessionStatus
    streamer_user_id: int
    went_live_at: dt.datetime | None
    ended_at: dt.datetime | None
    peak_viewers: int
    total_viewers: int
    orders: int
    gmv_fen: int
    refunded_fen: int
    commission_fen: int
    conversion_bp: int  # orders per unique viewer, in basis points
    top_products: list[TopProduct]


class RebuildOut(msgspec.Struct):
    months: list[str]
    orders: int
    sessions: int


class CalendarFeedOut(msgspec.Struct):
    """订阅日历: the streamer's current secret iCalendar address (shown on demand; reset to retire it)."""

    streamer_id: int
    url: str
    webcal_url: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
