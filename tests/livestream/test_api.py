"""The livestream API: guards, bad input, booking and 409 bodies, calendar, free slots, going live, reports."""

from __future__ import annotations

import datetime as dt

import time_machine
from icalendar import Calendar
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession
from livestream.services.figures import LiveFigures
from shop.ledger.models import LedgerEntry, LedgerKind
from tests.factories import auth
from tests.livestream.helpers import SATURDAY, World, at, world

Client = AsyncTestClient[Litestar]


def body(w: World, start: str = "20:00", end: str = "22:00", **kw: object) -> dict[str, object]:
    return {
        "studio_id": w.studio.id,
        "title": "青田红糖专场",
        "starts_at": at(SATURDAY, start).isoformat(),
        "ends_at": at(SATURDAY, end).isoformat(),
        "product_ids": [w.catalogue.product.product.id],
        **kw,
    }


async def sessions_count(db: AsyncSession) -> int:
    count = int(await db.scalar(select(func.count()).select_from(LiveSession)) or 0)
    await db.commit()  # SQLite: end the transaction so the app can take the write lock
    return count


async def test_studio_admin_routes_are_guarded_and_validate_input(client: Client, db: AsyncSession) -> None:
    w = await world(db)
    studio = {"name": "新直播间", "opening_hours": {"6": [["19:00", "22:00"]]}}
    assert (await client.post("/api/live/studios", json=studio)).status_code == 401
    assert (await client.post("/api/live/studios", json=studio, headers=auth(w.streamer))).status_code == 403
    bad_hours = await client.post(
        "/api/live/studios", headers=auth(w.admin), json={**studio, "opening_hours": {"6": [["22:00", "19:00"]]}}
    )
    assert bad_hours.status_code == 422
    assert bad_hours.json()["errors"] == [
        {"field": "opening_hours", "message": "Weekday 6: an interval must open before it closes."}
    ]
    assert (
        await client.post(
            "/api/live/studios", headers=auth(w.admin), json={**studio, "opening_hours": {"8": [["19:00", "22:00"]]}}
        )
    ).status_code == 400
    created = await client.post("/api/live/studios", headers=auth(w.admin), json=studio)
    assert created.status_code == 201
    assert created.json()["turnover_gap_minutes"] == 15
    duplicate = await client.post("/api/live/studios", headers=auth(w.admin), json=studio)
    assert duplicate.status_code == 409
    assert len((await client.get("/api/live/studios")).json()) == 3


async def test_booking_over_http_and_the_409_names_the_conflicting_session(client: Client, db: AsyncSession) -> None:
    w = await world(db)
    assert (await client.post("/api/live/sessions", json=body(w))).status_code == 401
    assert (await client.post("/api/live/sessions", json=body(w), headers=auth(w.buyer))).status_code == 403
    booked = await client.post("/api/live/sessions", json=body(w), headers=auth(w.streamer))
    assert booked.status_code == 201
    out = booked.json()
    assert (out["starts_local"], out["status"], out["commission_bp"]) == ("2031-03-01T20:00:00+08:00", "scheduled", 800)
    assert out["share_url"] == f"http://127.0.0.1:8000/live/s/{out['share_code']}"
    clash = await client.post("/api/live/sessions", json=body(w, "22:10", "23:00"), headers=auth(w.other_streamer))
    assert clash.status_code == 409
    assert clash.json()["conflict"] == {"kind": "studio", "session_id": out["id"]}
    assert f"session {out['id']} «青田红糖专场»" in clash.json()["detail"]
    # bad input: a streamer may not set the rate; naive times are Shanghai; unknown fields; missing products
    assert (
        await client.post(
            "/api/live/sessions", json=body(w, "10:00", "11:00", commission_bp=9000), headers=auth(w.streamer)
        )
    ).status_code == 403
    assert (
        await client.post("/api/live/sessions", json={**body(w), "surprise": 1}, headers=auth(w.streamer))
    ).status_code == 400
    missing = await client.post(
        "/api/live/sessions", json=body(w, "10:00", "11:00", product_ids=[999_999]), headers=auth(w.streamer)
    )
    assert (missing.status_code, missing.json()["errors"][0]["field"]) == (422, "product_ids")
    assert await sessions_count(db) == 1
    naive = await client.post(
        "/api/live/sessions",
        headers=auth(w.streamer),
        json=body(w, starts_at="2031-03-01T10:00:00", ends_at="2031-03-01T11:00:00"),
    )
    assert naive.json().get("starts_at") == "2031-03-01T02:00:00Z", naive.text
    # another streamer may not move or cancel it
    assert (
        await client.post(f"/api/live/sessions/{out['id']}/cancel", json={}, headers=auth(w.other_streamer))
    ).status_code == 403
    upcoming = (await client.get("/api/live/sessions", params={"status": "upcoming"})).json()
    assert [s["id"] for s in upcoming["items"]] == [naive.json()["id"], out["id"]]
    assert (await client.get("/api/live/sessions", params={"status": "soon"})).status_code == 400


async def test_weekly_series_calendar_and_free_slots(client: Client, db: AsyncSession) -> None:
    w = await world(db)
    series = await client.post(
        "/api/live/series",
        headers=auth(w.streamer),
        json={
            "studio_id": w.studio.id,
            "title": "周六红糖夜",
            "first_day": SATURDAY.isoformat(),
            "start_time": "20:00",
            "end_time": "22:00",
            "weeks": 8,
        },
    )
    assert series.status_code == 201
    occurrences = series.json()["sessions"]
    assert [o["starts_local"][:10] for o in occurrences] == [
        (SATURDAY + dt.timedelta(weeks=i)).isoformat() for i in range(8)
    ]
    # a clash with week 3 refuses the whole new series and names the session
    clash = await client.post(
        "/api/live/series",
        headers=auth(w.other_streamer),
        json={
            "studio_id": w.studio.id,
            "title": "冲突",
            "first_day": (SATURDAY - dt.timedelta(weeks=2)).isoformat(),
            "start_time": "21:00",
            "end_time": "23:00",
            "weeks": 4,
        },
    )
    assert clash.status_code == 409
    assert clash.json()["detail"].startswith("Week 3 (2031-03-01): Studio «青田共享直播间» is booked by session")
    assert await sessions_count(db) == 8
    # cancel week 2 and move week 3 to 19:00–20:30
    assert (
        await client.post(
            f"/api/live/sessions/{occurrences[1]['id']}/cancel", json={"reason": "清明"}, headers=auth(w.streamer)
        )
    ).json()["status"] == "cancelled"
    moved = await client.patch(
        f"/api/live/sessions/{occurrences[2]['id']}",
        headers=auth(w.streamer),
        json={
            "starts_at": at(SATURDAY + dt.timedelta(weeks=2), "19:00").isoformat(),
            "ends_at": at(SATURDAY + dt.timedelta(weeks=2), "20:30").isoformat(),
        },
    )
    assert moved.status_code == 200
    # the calendar (by the streamer's secret address): a valid VCALENDAR with the Shanghai VTIMEZONE and one event
    # per occurrence
    feed = await client.get(f"/api/live/streamers/{w.streamer.id}/calendar-feed", headers=auth(w.streamer))
    ics = await client.get(feed.json()["url"].removeprefix("http://127.0.0.1:8000"))
    assert ics.status_code == 200 and ics.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(ics.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = cal.walk("VEVENT")
    assert len(events) == 8
    assert len({str(e["UID"]) for e in events}) == 8
    by_uid = {str(e["UID"]): e for e in events}
    week2 = by_uid[f"live-session-{occurrences[1]['id']}@workshop-sales-hub"]
    week3 = by_uid[f"live-session-{occurrences[2]['id']}@workshop-sales-hub"]
    assert str(week2["STATUS"]) == "CANCELLED"
    assert week3.decoded("DTSTART") == at(SATURDAY + dt.timedelta(weeks=2), "19:00")
    assert b"DTSTART;TZID=Asia/Shanghai:20310301T200000" in ics.content
    assert (
        await client.get(f"/api/live/streamers/{w.buyer.id}/calendar-feed", headers=auth(w.admin))
    ).status_code == 422
    # free slots on the first Saturday: 08:00–19:45 and 22:15–23:00 (15-minute gaps around 20:00–22:00)
    slots = (
        await client.get(f"/api/live/studios/{w.studio.id}/free-slots", params={"day": SATURDAY.isoformat()})
    ).json()["slots"]
    assert [(s["starts_at"], s["ends_at"], s["minutes"]) for s in slots] == [
        ("2031-03-01T00:00:00Z", "2031-03-01T11:45:00Z", 705),
        ("2031-03-01T14:15:00Z", "2031-03-01T15:00:00Z", 45),
    ]
    assert (await client.get(f"/api/live/studios/{w.studio.id}/free-slots", params={"day": "soon"})).status_code == 400


async def test_going_live_pinning_viewers_sales_and_the_report(app: Litestar, client: Client, db: AsyncSession) -> None:
    w = await world(db)
    product_id = w.catalogue.product.product.id
    live = (await client.post("/api/live/sessions", json=body(w), headers=auth(w.streamer))).json()
    sid = live["id"]
    early = await client.post(f"/api/live/sessions/{sid}/start", headers=auth(w.streamer))
    assert early.status_code == 409  # years before the slot
    with time_machine.travel(at(SATURDAY, "19:50"), tick=True):
        assert (await client.post(f"/api/live/sessions/{sid}/start", headers=auth(w.other_streamer))).status_code == 403
        started = await client.post(f"/api/live/sessions/{sid}/start", headers=auth(w.streamer))
        assert started.json()["status"] == "live"
        assert (
            await client.put(f"/api/live/sessions/{sid}/pin", json={"product_id": 999}, headers=auth(w.streamer))
        ).status_code == 422
        pinned = await client.put(
            f"/api/live/sessions/{sid}/pin", json={"product_id": product_id}, headers=auth(w.admin)
        )
        assert pinned.json()["pinned_product_id"] == product_id
        share = (await client.get(f"/api/live/sessions/{sid}/share", headers=auth(w.streamer))).json()
        assert share["share_code"] == live["share_code"]
        qr = await client.get(f"/api/live/sessions/{sid}/qr.png")
        assert qr.headers["content-type"] == "image/png" and qr.content[:8] == b"\x89PNG\r\n\x1a\n"
        resolved = (await client.get(f"/api/live/share/{live['share_code'].lower()}")).json()
        assert (resolved["attributable"], resolved["session"]["id"]) == (True, sid)
        assert (await client.get("/api/live/share/NOTACODE")).status_code == 404
        for viewer in ("buyer-phone-1", "buyer-phone-2", "buyer-phone-3", "buyer-phone-4"):
            assert (
                await client.post(f"/api/live/sessions/{sid}/heartbeat", json={"viewer_id": viewer})
            ).status_code == 200
        assert (await client.post(f"/api/live/sessions/{sid}/heartbeat", json={"viewer_id": "x"})).status_code == 400
        figures = LiveFigures.for_app(app)
        await figures.on_order_paid(41, [(sid, w.streamer.id, 7600, product_id)], at(SATURDAY, "20:30"))
        db.add_all(
            [
                LedgerEntry(
                    kind=LedgerKind.STREAMER_COMMISSION,
                    amount_fen=608,
                    order_id=41,
                    order_line_id=1,
                    live_session_id=sid,
                    streamer_user_id=w.streamer.id,
                    rate_bp=800,
                    occurred_at=at(SATURDAY, "20:30"),
                ),
                LedgerEntry(
                    kind=LedgerKind.SERVICE_FEE,
                    amount_fen=380,
                    order_id=41,
                    order_line_id=1,
                    occurred_at=at(SATURDAY, "20:30"),
                ),
                LedgerEntry(
                    kind=LedgerKind.WORKSHOP_REVENUE,
                    amount_fen=6612,
                    order_id=41,
                    order_line_id=1,
                    occurred_at=at(SATURDAY, "20:30"),
                ),
            ]
        )
        await db.commit()
        live_now = (await client.get("/api/live/sessions", params={"status": "live"})).json()["items"]
        assert live_now[0]["figures"] == {
            "session_id": sid,
            "viewers": 4,
            "peak_viewers": 4,
            "total_viewers": 4,
            "orders": 1,
            "gmv_fen": 7600,
        }
        assert (await client.get(f"/api/live/sessions/{sid}/report", headers=auth(w.streamer))).status_code == 409
        ended = await client.post(f"/api/live/sessions/{sid}/end", headers=auth(w.streamer))
        assert (ended.json()["status"], ended.json()["pinned_product_id"]) == ("ended", None)
        assert (
            await client.post(f"/api/live/sessions/{sid}/heartbeat", json={"viewer_id": "late-viewer"})
        ).status_code == 409
        report = await client.get(f"/api/live/sessions/{sid}/report", headers=auth(w.streamer))
        assert (await client.get(f"/api/live/sessions/{sid}/report", headers=auth(w.other_streamer))).status_code == 403
    assert report.json() | {"went_live_at": None, "ended_at": None} == {
        "session_id": sid,
        "title": "青田红糖专场",
        "status": "ended",
        "streamer_user_id": w.streamer.id,
        "went_live_at": None,
        "ended_at": None,
        "peak_viewers": 4,
        "total_viewers": 4,
        "orders": 1,
        "gmv_fen": 7600,
        "refunded_fen": 0,
        "commission_fen": 608,
        "conversion_bp": 2500,
        "top_products": [{"product_id": product_id, "title": "青田红糖 古法手工", "gmv_fen": 7600}],
    }
    board = await client.get(
        "/api/live/leaderboards", params={"board": "streamer", "metric": "gmv", "month": "2031-03"}
    )
    assert board.json()["entries"] == [{"rank": 1, "id": w.streamer.id, "name": "村播小王", "value": 7600}]
    assert (await client.get("/api/live/leaderboards", params={"month": "2031-13"})).status_code == 422
    assert (await client.get("/api/live/leaderboards", params={"metric": "likes"})).status_code == 400
