"""Livestream API: studios, sessions and series, going live, share links, live figures, leaderboards, reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, WebSocket, delete, get, patch, post, put, websocket
from litestar.channels import ChannelsPlugin
from litestar.di import Provide
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import SessionStatus
from livestream.schemas import (
    AgreementIn,
    AgreementOut,
    Board,
    CalendarFeedOut,
    CancelIn,
    ClosureIn,
    FiguresOut,
    FreeSlots,
    HeartbeatIn,
    LeaderboardOut,
    ListStatus,
    Metric,
    PinIn,
    SeriesCreate,
    SeriesOut,
    SessionCreate,
    SessionOut,
    SessionPage,
    SessionReport,
    SessionUpdate,
    ShareOut,
    ShareResolved,
    StudioIn,
    StudioOut,
    StudioUpdate,
)
from livestream.services.attribution import AttributionResolver, attributes_at
from livestream.services.broadcast import BroadcastService, qr_png
from livestream.services.calendar import CalendarService
from livestream.services.calendar_feed import FEED_PATH, CalendarFeedService
from livestream.services.common import ensure_streamer_or_centre, get_session
from livestream.services.figures import ALL_CHANNEL, LiveFigures, channel_for
from livestream.services.leaderboards import LeaderboardService
from livestream.services.presenters import SessionPresenter, share_url
from livestream.services.recurrence import SeriesService
from livestream.services.reports import ReportService
from livestream.services.scheduling import SchedulingService
from livestream.services.studios import StudioService
from shop.accounts.models import Role
from shop.auth import PUBLIC, Caller, requires, requires_admin
from shop.deps import Page
from shop.errors import Conflict, NotFound
from shop.settings import Settings

streamer_or_centre = requires(Role.STREAMER, Role.CENTRE_ADMIN)


def feed_service(db_session: AsyncSession, settings: Settings) -> CalendarFeedService:
    return CalendarFeedService(db_session, settings.app.secret_key, settings.app.base_url)


def provide_figures(request: Request[Any, Any, Any]) -> LiveFigures:
    return LiveFigures.for_app(request.app)


live_dependencies = {"figures": Provide(provide_figures, sync_to_thread=False)}


async def present(db_session: AsyncSession, settings: Settings, figures: LiveFigures, live: Any) -> SessionOut:
    figs = await figures.figures([live.id]) if live.status in (SessionStatus.LIVE, SessionStatus.ENDED) else {}
    return await SessionPresenter(db_session, settings.app.base_url).one(live, figs.get(live.id))


class StudioController(Controller):
    path = "/api/live/studios"
    tags = ["livestream"]

    @get("", opt=PUBLIC, summary="Studios (共享直播间) with opening hours and closed days")
    async def studios(self, db_session: AsyncSession) -> list[StudioOut]:
        return await StudioService(db_session).listing()

    @get("/{studio_id:int}", opt=PUBLIC, summary="A studio")
    async def studio(self, db_session: AsyncSession, studio_id: int) -> StudioOut:
        return await StudioService(db_session).detail(studio_id)

    @get("/{studio_id:int}/free-slots", opt=PUBLIC, summary="Free windows of a studio on a day (Asia/Shanghai)")
    async def free_slots(
        self,
        db_session: AsyncSession,
        studio_id: int,
        day: dt.date = Parameter(query="day"),
    ) -> FreeSlots:
        return await StudioService(db_session).free_slots(studio_id, day)

    @post("", guards=[requires_admin], summary="Add a studio", status_code=201)
    async def create(self, db_session: AsyncSession, caller: Caller, data: StudioIn) -> StudioOut:
        return await StudioService(db_session).create(caller, data)

    @patch("/{studio_id:int}", guards=[requires_admin], summary="Change a studio (applies to new bookings)")
    async def update(self, db_session: AsyncSession, caller: Caller, studio_id: int, data: StudioUpdate) -> StudioOut:
        return await StudioService(db_session).update(caller, studio_id, data)

    @post("/{studio_id:int}/closures", guards=[requires_admin], summary="Close a studio on a date", status_code=201)
    async def close_day(self, db_session: AsyncSession, caller: Caller, studio_id: int, data: ClosureIn) -> StudioOut:
        """409 when a session is booked that day."""
        return await StudioService(db_session).add_closure(caller, studio_id, data)

    @delete(
        "/{studio_id:int}/closures/{day:date}", guards=[requires_admin], summary="Reopen a closed date", status_code=200
    )
    async def open_day(self, db_session: AsyncSession, caller: Caller, studio_id: int, day: dt.date) -> StudioOut:
        return await StudioService(db_session).remove_closure(caller, studio_id, day)


class StreamerController(Controller):
    path = "/api/live/streamers"
    tags = ["livestream"]

    # The schedule is no longer public by streamer id (anyone could walk the ids): it opens only with the
    # streamer's secret address, which these three routes show, reset and revoke.
    @get(
        "/{streamer_id:int}/calendar-feed",
        guards=[streamer_or_centre],
        summary="The streamer's secret calendar address (订阅日历); the first request issues one",
    )
    async def calendar_feed(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, streamer_id: int
    ) -> CalendarFeedOut:
        return await feed_service(db_session, settings).current(caller, streamer_id)

    @post(
        "/{streamer_id:int}/calendar-feed",
        guards=[streamer_or_centre],
        summary="Reset the secret calendar address (重置链接): the old one stops working",
        status_code=201,
    )
    async def reset_calendar_feed(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, streamer_id: int
    ) -> CalendarFeedOut:
        return await feed_service(db_session, settings).reset(caller, streamer_id)

    @delete(
        "/{streamer_id:int}/calendar-feed",
        guards=[streamer_or_centre],
        summary="Revoke the secret calendar address",
        status_code=204,
    )
    async def revoke_calendar_feed(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, streamer_id: int
    ) -> None:
        await feed_service(db_session, settings).revoke(caller, streamer_id)

    @get("/{streamer_id:int}/agreements", guards=[streamer_or_centre], summary="A streamer's commission agreements")
    async def agreements(self, db_session: AsyncSession, caller: Caller, streamer_id: int) -> list[AgreementOut]:
        ensure_streamer_or_centre(caller, streamer_id)
        return await SchedulingService(db_session).agreements(streamer_id)

    @put("/{streamer_id:int}/agreement", guards=[requires_admin], summary="Record a streamer's commission rate")
    async def set_agreement(
        self, db_session: AsyncSession, caller: Caller, streamer_id: int, data: AgreementIn
    ) -> AgreementOut:
        return await SchedulingService(db_session).set_agreement(caller, streamer_id, data)


class CalendarFeedController(Controller):
    """What a phone calendar polls: no login, the token in the address is the key."""

    path = FEED_PATH
    tags = ["livestream"]

    @get("/{feed:str}", opt=PUBLIC, summary="A streamer's sessions as iCalendar, by secret address ({token}.ics)")
    async def feed(self, db_session: AsyncSession, settings: Settings, feed: str) -> Response[bytes]:
        """404, the same for an unknown, reset or revoked address."""
        streamer_id = await feed_service(db_session, settings).resolve(feed.removesuffix(".ics"))
        body = await CalendarService(db_session, settings.app.base_url).streamer_ics(streamer_id)
        return Response(
            body,
            # Litestar appends "; charset=utf-8" to text/* itself (naming it here doubled it).
            media_type="text/calendar",
            headers={
                "Content-Disposition": f'inline; filename="streamer-{streamer_id}.ics"',
                # The address is a credential: no shared cache keeps the schedule, no search engine lists it.
                "Cache-Control": "private, no-store",
                "X-Robots-Tag": "noindex",
            },
        )


class SessionController(Controller):
    path = "/api/live/sessions"
    tags = ["livestream"]
    dependencies = live_dependencies

    @get("", opt=PUBLIC, summary="Sessions: live now (with figures), upcoming, ended or cancelled")
    async def sessions(
        self,
        db_session: AsyncSession,
        settings: Settings,
        figures: LiveFigures,
        paging: Page,
        status: ListStatus = Parameter(query="status", default="live"),
    ) -> SessionPage:
        rows, total = await BroadcastService(db_session, figures).listing(status, paging.per_page, paging.offset)
        figs = await figures.figures([s.id for s in rows]) if status in ("live", "ended") else {}
        items = await SessionPresenter(db_session, settings.app.base_url).many(rows, figs)
        return SessionPage(items, total, paging.page, paging.per_page)

    @get("/{session_id:int}", opt=PUBLIC, summary="A session with its line-up and figures")
    async def session(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, session_id: int
    ) -> SessionOut:
        return await present(db_session, settings, figures, await get_session(db_session, session_id))

    @post("", guards=[streamer_or_centre], summary="Book a session", status_code=201)
    async def book(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, caller: Caller, data: SessionCreate
    ) -> SessionOut:
        """422 for a slot in the past, too short/long, outside opening hours or on a closed day; 409 naming the
        conflicting session when the studio (with its turnover gap) or the streamer is taken."""
        live = await SchedulingService(db_session).book(caller, data)
        return await present(db_session, settings, figures, live)

    @patch("/{session_id:int}", guards=[streamer_or_centre], summary="Edit or move a scheduled session")
    async def update(
        self,
        db_session: AsyncSession,
        settings: Settings,
        figures: LiveFigures,
        caller: Caller,
        session_id: int,
        data: SessionUpdate,
    ) -> SessionOut:
        live = await SchedulingService(db_session).update(caller, session_id, data)
        return await present(db_session, settings, figures, live)

    @post(
        "/{session_id:int}/cancel", guards=[streamer_or_centre], summary="Cancel a scheduled session", status_code=200
    )
    async def cancel(
        self,
        db_session: AsyncSession,
        settings: Settings,
        figures: LiveFigures,
        caller: Caller,
        session_id: int,
        data: CancelIn,
    ) -> SessionOut:
        live = await SchedulingService(db_session).cancel(caller, session_id, data.reason)
        return await present(db_session, settings, figures, live)

    @post("/{session_id:int}/start", guards=[streamer_or_centre], summary="Go live (开播)", status_code=200)
    async def start(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, caller: Caller, session_id: int
    ) -> SessionOut:
        live = await BroadcastService(db_session, figures).start(caller, session_id)
        return await present(db_session, settings, figures, live)

    @post("/{session_id:int}/end", guards=[streamer_or_centre], summary="End the broadcast", status_code=200)
    async def end(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, caller: Caller, session_id: int
    ) -> SessionOut:
        live = await BroadcastService(db_session, figures).end(caller, session_id)
        return await present(db_session, settings, figures, live)

    @put("/{session_id:int}/pin", guards=[streamer_or_centre], summary="Pin the product being presented")
    async def pin(
        self,
        db_session: AsyncSession,
        settings: Settings,
        figures: LiveFigures,
        caller: Caller,
        session_id: int,
        data: PinIn,
    ) -> SessionOut:
        live = await BroadcastService(db_session, figures).pin(caller, session_id, data.product_id)
        return await present(db_session, settings, figures, live)

    @get("/{session_id:int}/share", guards=[streamer_or_centre], summary="Share code, link and QR code address")
    async def share(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, caller: Caller, session_id: int
    ) -> ShareOut:
        live = await get_session(db_session, session_id)
        ensure_streamer_or_centre(caller, live.streamer_user_id)
        return BroadcastService(db_session, figures).share(live, settings.app.base_url)

    @get(
        "/{session_id:int}/qr.png",
        opt=PUBLIC,
        media_type="image/png",
        summary="QR code (PNG) of the session's share link",
    )
    async def qr(self, db_session: AsyncSession, settings: Settings, session_id: int) -> Response[bytes]:
        live = await get_session(db_session, session_id)
        png = qr_png(share_url(settings.app.base_url, live.share_code))
        return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})

    @get("/{session_id:int}/figures", opt=PUBLIC, summary="Live figures: viewers, orders, sales (GMV)")
    async def figures_(self, db_session: AsyncSession, figures: LiveFigures, session_id: int) -> FiguresOut:
        live = await get_session(db_session, session_id)
        return (await figures.figures([live.id])).get(live.id) or FiguresOut(live.id, 0, 0, 0, 0, 0)

    @post(
        "/{session_id:int}/heartbeat", opt=PUBLIC, summary="A viewer is watching (send every 20–30 s)", status_code=200
    )
    async def heartbeat(
        self, db_session: AsyncSession, figures: LiveFigures, session_id: int, data: HeartbeatIn
    ) -> FiguresOut:
        """409 when the session is not live."""
        live = await get_session(db_session, session_id)
        if live.status is not SessionStatus.LIVE:
            raise Conflict(f"Session {live.id} is {live.status.value}, not live.", field="session_id")
        return await figures.heartbeat(live.id, data.viewer_id)

    @post("/{session_id:int}/leave", opt=PUBLIC, summary="A viewer left", status_code=200)
    async def leave(
        self, db_session: AsyncSession, figures: LiveFigures, session_id: int, data: HeartbeatIn
    ) -> FiguresOut:
        live = await get_session(db_session, session_id)
        return await figures.leave(live.id, data.viewer_id)

    @get("/{session_id:int}/report", guards=[streamer_or_centre], summary="The session report after the end")
    async def report(
        self, db_session: AsyncSession, figures: LiveFigures, caller: Caller, session_id: int
    ) -> SessionReport:
        return await ReportService(db_session, figures).report(caller, session_id)


class LiveController(Controller):
    path = "/api/live"
    tags = ["livestream"]
    dependencies = live_dependencies

    @get("/share/{code:str}", opt=PUBLIC, summary="The session behind a share code, and whether it attributes now")
    async def resolve_share(
        self, db_session: AsyncSession, settings: Settings, figures: LiveFigures, code: str
    ) -> ShareResolved:
        live = await AttributionResolver(db_session).session_for_code(code)
        if live is None:
            raise NotFound(f"No session has the share code {code[:32]!r}.")
        now = dt.datetime.now(dt.UTC)
        return ShareResolved(await present(db_session, settings, figures, live), attributes_at(live, now))

    @get("/leaderboards", opt=PUBLIC, summary="Monthly leaderboard (直播销售大比拼) by session or streamer")
    async def leaderboard(
        self,
        db_session: AsyncSession,
        figures: LiveFigures,
        board: Board = Parameter(query="board", default="streamer"),
        metric: Metric = Parameter(query="metric", default="gmv"),
        month: str | None = Parameter(query="month", default=None, max_length=7, description="YYYY-MM"),
        limit: int = Parameter(query="limit", default=10, ge=1, le=100),
    ) -> LeaderboardOut:
        return await LeaderboardService(db_session, figures).read(board, metric, month, limit)

    @post("/series", guards=[streamer_or_centre], summary="Book a weekly recurring slot", status_code=201)
    async def create_series(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, data: SeriesCreate
    ) -> SeriesOut:
        """All occurrences or none: 422/409 name the week and the conflicting session."""
        series, sessions = await SeriesService(db_session).create(caller, data)
        return await series_out(db_session, settings, series, sessions)

    @get("/series/{series_id:int}", opt=PUBLIC, summary="A weekly series and its occurrences")
    async def series(self, db_session: AsyncSession, settings: Settings, series_id: int) -> SeriesOut:
        series, sessions = await SeriesService(db_session).get(series_id)
        return await series_out(db_session, settings, series, sessions)

    @post(
        "/series/{series_id:int}/cancel",
        guards=[streamer_or_centre],
        summary="Cancel the remaining occurrences",
        status_code=200,
    )
    async def cancel_series(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, series_id: int, data: CancelIn
    ) -> SeriesOut:
        series, sessions = await SeriesService(db_session).cancel_remaining(caller, series_id, data.reason)
        return await series_out(db_session, settings, series, sessions)


async def series_out(db_session: AsyncSession, settings: Settings, series: Any, sessions: list[Any]) -> SeriesOut:
    items = await SessionPresenter(db_session, settings.app.base_url).many(sessions)
    return SeriesOut(
        series.id,
        series.studio_id,
        series.streamer_user_id,
        series.title,
        series.first_day,
        series.local_start.strftime("%H:%M"),
        series.duration_minutes,
        series.weeks,
        items,
    )


async def _feed(socket: WebSocket, channels: ChannelsPlugin, channel: str, session_id: int | None) -> None:
    await socket.accept()
    first = None
    if session_id is not None:  # the screen starts from the current figures, then follows the pushes
        current = (await LiveFigures.for_app(socket.app).figures([session_id])).get(session_id)
        first = {"type": "figures", **{f: getattr(current, f) for f in current.__struct_fields__}} if current else None

    async def send(event: bytes) -> None:
        await socket.send_text(event.decode())

    async with channels.start_subscription([channel]) as subscriber, subscriber.run_in_background(send):
        if first is not None:
            await socket.send_json(first)
        try:
            while True:
                await socket.receive_text()  # screens send nothing; this notices the disconnect
        except WebSocketDisconnect:
            pass


@websocket("/ws/live/{session_id:int}", opt=PUBLIC)
async def session_feed(socket: WebSocket, channels: ChannelsPlugin, session_id: int) -> None:
    """The studio screen: figures, status and pinned product of one session, pushed as JSON text frames."""
    await _feed(socket, channels, channel_for(session_id), session_id)


@websocket("/ws/live", opt=PUBLIC)
async def all_feed(socket: WebSocket, channels: ChannelsPlugin) -> None:
    """The kiosk: every session's figures and status changes."""
    await _feed(socket, channels, ALL_CHANNEL, None)


route_handlers = [
    StudioController,
    StreamerController,
    CalendarFeedController,
    SessionController,
    LiveController,
    session_feed,
    all_feed,
]
