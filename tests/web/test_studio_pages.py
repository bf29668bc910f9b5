"""The studio pages (主播工作台) without a browser: guards, the week view, booking and its refusals, go-live, pin."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator

import pytest
import time_machine
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import LiveSession, SessionStatus, StudioClosure
from livestream.schemas import SessionCreate
from livestream.services.scheduling import SchedulingService
from shop.accounts.models import User
from shop.db import create_engine, create_session_factory
from shop.settings import Settings
from tests.factories import auth, token_for
from tests.livestream.helpers import SATURDAY, World, at, caller_of, world

Client = AsyncTestClient[Litestar]
CSRF = "c" * 43
HTML = {"accept": "text/html"}


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """Its own unpooled engine: the app runs on the test client's loop and must not share connections."""
    engine = create_engine(settings.db, null_pool=True)
    async with create_session_factory(engine)() as session:
        yield session
    await engine.dispose()


def as_user(user: User) -> dict[str, str]:
    """What a logged-in browser sends: the page session cookie and the CSRF cookie (made at call time, so a token
    issued inside a time-travel block is valid there)."""
    return {**HTML, "cookie": f"hub_session={token_for(user)}; hub_csrf={CSRF}"}


async def book(db: AsyncSession, w: World, title: str, start: str, end: str, streamer: User | None = None) -> int:
    live = await SchedulingService(db).book(
        caller_of(streamer or w.streamer),
        SessionCreate(
            studio_id=w.studio.id,
            title=title,
            starts_at=at(SATURDAY, start),
            ends_at=at(SATURDAY, end),
            product_ids=[w.catalogue.product.product.id],
        ),
    )
    return live.id


async def session_titles(db: AsyncSession) -> list[str]:
    titles = list(await db.scalars(select(LiveSession.title).order_by(LiveSession.id)))
    await db.commit()  # SQLite: end the read so the app can write
    return titles


def booking_form(w: World, **values: str) -> dict[str, str]:
    return {
        "_csrf": CSRF,
        "studio_id": str(w.studio.id),
        "day": SATURDAY.isoformat(),
        "title": "青田红糖专场",
        "start": "20:00",
        "minutes": "60",
        "action": "book",
        **values,
    }


async def test_anonymous_visitors_are_sent_to_log_in_and_buyers_are_refused(client: Client, db: AsyncSession) -> None:
    # Given a buyer and a bookable studio
    w = await world(db)
    # When nobody is logged in, every studio page sends the visitor to the log-in page, back here afterwards
    for path in ("/studio", "/studio/book", "/studio/reports", "/studio/sessions/1"):
        r = await client.get(path, headers=HTML, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/login?next={path}")
    # When a buyer opens the studio, it is a readable 403 page
    r = await client.get("/studio", headers=as_user(w.buyer))
    assert r.status_code == 403
    assert "没有权限" in r.text
    # And a buyer's booking form post is refused and books nothing
    r = await client.post("/studio/book", data=booking_form(w), headers=as_user(w.buyer), follow_redirects=False)
    assert r.status_code == 403
    assert await session_titles(db) == []


async def test_the_week_view_shows_my_sessions_of_the_week_and_moves_between_weeks(
    client: Client, db: AsyncSession
) -> None:
    # Given my session and another streamer's on SATURDAY, and mine the Saturday after
    w = await world(db)
    await book(db, w, "我的周六专场", "19:00", "20:00")
    await book(db, w, "别人的专场", "21:00", "22:00", streamer=w.other_streamer)
    mine_later = await SchedulingService(db).book(
        caller_of(w.streamer),
        SessionCreate(
            studio_id=w.studio.id,
            title="下周的专场",
            starts_at=at(SATURDAY + dt.timedelta(days=7), "19:00"),
            ends_at=at(SATURDAY + dt.timedelta(days=7), "20:00"),
        ),
    )
    await db.commit()
    monday = SATURDAY - dt.timedelta(days=5)
    # When I open the week of a day in it (any day names its Monday–Sunday week)
    r = await client.get(f"/studio?week={SATURDAY.isoformat()}", headers=as_user(w.streamer))
    # Then I see my session of that week only, with its time, status and a link, and links to the weeks around it
    assert r.status_code == 200
    assert "3月1日 周六" in r.text
    assert "我的周六专场" in r.text and "19:00–20:00" in r.text and "已排期" in r.text
    assert "别人的专场" not in r.text and "下周的专场" not in r.text
    assert f'href="/studio?week={(monday - dt.timedelta(days=7)).isoformat()}" rel="prev"' in r.text
    assert f'href="/studio?week={(monday + dt.timedelta(days=7)).isoformat()}" rel="next"' in r.text
    # When I follow "next week"
    r = await client.get(f"/studio?week={(monday + dt.timedelta(days=7)).isoformat()}", headers=as_user(w.streamer))
    # Then the later session is there, linked to its page
    assert "下周的专场" in r.text and f'href="/studio/sessions/{mine_later.id}"' in r.text
    assert "我的周六专场" not in r.text
    # And the centre admin sees every streamer's sessions of the week
    r = await client.get(f"/studio?week={SATURDAY.isoformat()}", headers=as_user(w.admin))
    assert "我的周六专场" in r.text and "别人的专场" in r.text
    # And a nonsense week falls back to this week instead of failing
    r = await client.get("/studio?week=not-a-date", headers=as_user(w.streamer))
    assert r.status_code == 200 and "本周" in r.text


async def test_the_booking_page_lists_free_slots_and_books_one(client: Client, db: AsyncSession) -> None:
    # Given a studio open 08:00–23:00 with a 15-minute turnover gap, and a session 19:00–20:00 on SATURDAY
    w = await world(db)
    await book(db, w, "早先的专场", "19:00", "20:00", streamer=w.other_streamer)
    await db.commit()
    # When I pick the studio and the day
    r = await client.get(f"/studio/book?studio={w.studio.id}&day={SATURDAY.isoformat()}", headers=as_user(w.streamer))
    # Then the free slots are the opening hours minus the session and its gaps
    slots = re.findall(r'<span class="slot-time">([^<]+)</span>', r.text)
    assert slots == ["08:00–18:45", "20:15–23:00"]
    # When I book 20:15 for an hour with the product ticked
    product_id = w.catalogue.product.product.id
    form = booking_form(w, start="20:15", product_ids=str(product_id))
    r = await client.post("/studio/book", data=form, headers=as_user(w.streamer), follow_redirects=False)
    # Then the session is booked for me with its line-up, and I am sent to its page
    new = await db.scalar(select(LiveSession).where(LiveSession.title == "青田红糖专场"))
    assert new is not None
    assert (r.status_code, r.headers["location"]) == (303, f"/studio/sessions/{new.id}?done=booked")
    assert new.streamer_user_id == w.streamer.id
    assert [i.product_id for i in new.lineup] == [product_id]
    assert new.starts_at.replace(tzinfo=dt.UTC) == at(SATURDAY, "20:15").astimezone(dt.UTC)
    await db.commit()
    r = await client.get(r.headers["location"], headers=as_user(w.streamer))
    assert "预约成功" in r.text and "青田红糖专场" in r.text


async def test_an_overlapping_booking_is_refused_naming_the_session_in_the_way(
    client: Client, db: AsyncSession
) -> None:
    # Given a session 19:00–21:00 on SATURDAY in the studio
    w = await world(db)
    await book(db, w, "周六晚间专场", "19:00", "21:00", streamer=w.other_streamer)
    await db.commit()
    # When I try to book 20:00–21:00 there
    form = booking_form(w, title="我的重叠场次", start="20:00", minutes="60")
    r = await client.post("/studio/book", data=form, headers=as_user(w.streamer))
    # Then it is refused with the session, its day and its time in plain words, and my entries are kept
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("text/html")
    assert (
        "这个时段和已有场次冲突：「周六晚间专场」3月1日 周六 19:00–21:00 已占用青田共享直播间，"
        "两场之间还要留 15 分钟整理直播间。"
    ) in r.text
    assert 'value="我的重叠场次"' in r.text and 'value="20:00"' in r.text and 'value="60"' in r.text
    assert await session_titles(db) == ["周六晚间专场"]
    # When the clash is with my own session in another studio
    await book(db, w, "我在别处的专场", "14:00", "15:00")
    await db.commit()
    form = booking_form(w, studio_id=str(w.other_studio.id), title="同时两场", start="14:30", minutes="30")
    r = await client.post("/studio/book", data=form, headers=as_user(w.streamer))
    assert r.status_code == 409
    assert "您在这个时段已经有一场直播：「我在别处的专场」3月1日 周六 14:00–15:00（青田共享直播间）" in r.text
    assert await session_titles(db) == ["周六晚间专场", "我在别处的专场"]


async def test_closed_days_opening_hours_and_missing_fields_are_explained(client: Client, db: AsyncSession) -> None:
    # Given the studio closed the Saturday after SATURDAY for maintenance
    w = await world(db)
    closed = SATURDAY + dt.timedelta(days=7)
    db.add(StudioClosure(studio_id=w.studio.id, day=closed, reason="设备检修"))
    await db.commit()
    # When I book on the closed day, the page says the studio is closed that day and why
    r = await client.post("/studio/book", data=booking_form(w, day=closed.isoformat()), headers=as_user(w.streamer))
    assert r.status_code == 422
    assert "青田共享直播间 3月8日 周六 闭馆（设备检修），请换一天。" in r.text
    # When I book outside the opening hours, the day's hours are shown
    r = await client.post("/studio/book", data=booking_form(w, start="23:30"), headers=as_user(w.streamer))
    assert r.status_code == 422
    assert "所选时间不在青田共享直播间 3月1日 周六 的开放时间内（当天开放：08:00–23:00）。" in r.text
    # When I leave the title empty and give no start, the fields say so
    r = await client.post("/studio/book", data=booking_form(w, title=" ", start=""), headers=as_user(w.streamer))
    assert r.status_code == 422
    assert "请填写直播标题。" in r.text and "请填写开始时间，例如 19:30。" in r.text
    assert await session_titles(db) == []


async def test_a_search_or_a_slot_choice_shows_the_form_again_without_booking(client: Client, db: AsyncSession) -> None:
    w = await world(db)
    form = booking_form(w, title="还没想好", action="slot:09:00", q="红糖")
    r = await client.post("/studio/book", data=form, headers=as_user(w.streamer))
    assert r.status_code == 200
    assert 'value="09:00"' in r.text and 'value="还没想好"' in r.text
    assert "青田红糖 古法手工" in r.text
    assert await session_titles(db) == []


async def test_going_live_pinning_and_ending_from_the_session_page(client: Client, db: AsyncSession) -> None:
    # Given my session 20:00–22:00 on SATURDAY with one product in its line-up
    w = await world(db)
    sid = await book(db, w, "青田红糖专场", "20:00", "22:00")
    await db.commit()
    product_id = w.catalogue.product.product.id
    # When I press "go live" years before the slot, the page explains when I can
    r = await client.post(f"/studio/sessions/{sid}/start", data={"_csrf": CSRF}, headers=as_user(w.streamer))
    assert r.status_code == 409
    assert "现在还不能开播" in r.text
    with time_machine.travel(at(SATURDAY, "19:50"), tick=True):
        # When another streamer opens my session, it is refused
        r = await client.get(f"/studio/sessions/{sid}", headers=as_user(w.other_streamer))
        assert r.status_code == 403
        # When I go live ten minutes before the start
        r = await client.post(
            f"/studio/sessions/{sid}/start", data={"_csrf": CSRF}, headers=as_user(w.streamer), follow_redirects=False
        )
        assert (r.status_code, r.headers["location"]) == (303, f"/studio/sessions/{sid}?done=started")
        r = await client.get(f"/studio/sessions/{sid}", headers=as_user(w.streamer))
        # Then the live screen shows the figures panel, fed by the session's socket, and a pin button per product
        assert 'data-ws-path="/ws/live/' + str(sid) + '"' in r.text
        assert '置顶讲解<span class="visually-hidden">：青田红糖 古法手工</span>' in r.text
        # When I pin a product that is not in the line-up, nothing changes and the page says why
        r = await client.post(
            f"/studio/sessions/{sid}/pin", data={"_csrf": CSRF, "product_id": "999999"}, headers=as_user(w.streamer)
        )
        assert r.status_code == 422 and "只能在直播中置顶本场选品里的商品。" in r.text
        # When I pin the line-up's product
        r = await client.post(
            f"/studio/sessions/{sid}/pin",
            data={"_csrf": CSRF, "product_id": str(product_id)},
            headers=as_user(w.streamer),
            follow_redirects=False,
        )
        assert r.status_code == 303
        # Then the session has it pinned, and the page marks it as being presented
        assert (await client.get(f"/api/live/sessions/{sid}")).json()["pinned_product_id"] == product_id
        r = await client.get(f"/studio/sessions/{sid}", headers=as_user(w.streamer))
        assert 'class="lineup-item is-pinned"' in r.text and "取消置顶" in r.text
        # When I end the broadcast, the report is shown
        r = await client.post(
            f"/studio/sessions/{sid}/end", data={"_csrf": CSRF}, headers=as_user(w.streamer), follow_redirects=False
        )
        assert (r.status_code, r.headers["location"]) == (303, f"/studio/sessions/{sid}?done=ended")
        r = await client.get(r.headers["location"], headers=as_user(w.streamer))
        assert "直播已结束。" in r.text and "直播复盘" in r.text
    status = await db.scalar(select(LiveSession.status).where(LiveSession.id == sid))
    assert status is SessionStatus.ENDED
    await db.commit()
    # And the month's report page lists it for me
    r = await client.get("/studio/reports?month=2031-03", headers=as_user(w.streamer))
    assert r.status_code == 200 and "2031年3月" in r.text and f'href="/studio/sessions/{sid}"' in r.text
    assert "佣金比例 8%" in r.text


async def test_the_line_up_is_edited_before_going_live(client: Client, db: AsyncSession) -> None:
    # Given my scheduled session with one product
    w = await world(db)
    sid = await book(db, w, "青田红糖专场", "20:00", "22:00")
    await db.commit()
    mine = as_user(w.streamer)  # before expire_all below: the test's rows are not reloaded lazily
    # When I save a new title and an empty line-up
    r = await client.post(
        f"/studio/sessions/{sid}/lineup",
        data={"_csrf": CSRF, "title": "改名后的专场", "action": "save"},
        headers=mine,
        follow_redirects=False,
    )
    # Then the session has them
    assert (r.status_code, r.headers["location"]) == (303, f"/studio/sessions/{sid}?done=saved")
    db.expire_all()  # the session was booked through this test session: read the app's write, not the cache
    row = await db.scalar(select(LiveSession).where(LiveSession.id == sid))
    assert row is not None and (row.title, row.lineup) == ("改名后的专场", [])
    await db.commit()
    # When the form is posted without its CSRF token, it is refused and nothing changes
    r = await client.post(f"/studio/sessions/{sid}/lineup", data={"title": "被伪造的", "action": "save"}, headers=mine)
    assert r.status_code == 403
    assert await session_titles(db) == ["改名后的专场"]


async def test_the_week_page_shows_my_calendar_address_and_resets_it(client: Client, db: AsyncSession) -> None:
    # Given a streamer (and the centre admin, who has no schedule of their own)
    w = await world(db)
    mine, admin, other = as_user(w.streamer), as_user(w.admin), as_user(w.other_streamer)
    api = f"/api/live/streamers/{w.streamer.id}/calendar-feed"
    # When I open my week
    r = await client.get("/studio", headers=mine)
    # Then the 订阅日历 section shows my secret address (the same the API shows) in a copy field, with a reset form
    assert r.status_code == 200
    url = (await client.get(api, headers=auth(w.streamer))).json()["url"]
    assert "订阅日历" in r.text
    assert f'id="calendar-feed-url" type="text" readonly value="{url}"' in r.text
    assert 'action="/studio/calendar/reset"' in r.text and f'name="_csrf" value="{CSRF}"' in r.text
    assert "重置链接" in r.text and "/calendar.ics" not in r.text
    # And another streamer's week shows their own address, not mine; the admin's week shows none
    assert url not in (await client.get("/studio", headers=other)).text
    assert 'id="calendar-feed"' not in (await client.get("/studio", headers=admin)).text
    # When the reset form is posted without its CSRF token, it is refused and the address still works
    r = await client.post("/studio/calendar/reset", data={}, headers=mine, follow_redirects=False)
    assert r.status_code == 403
    assert (await client.get(url.removeprefix("http://127.0.0.1:8000"))).status_code == 200
    # When I reset it
    r = await client.post("/studio/calendar/reset", data={"_csrf": CSRF}, headers=mine, follow_redirects=False)
    # Then I am sent back to my week, which says so and shows a new address; the old one is a 404
    assert (r.status_code, r.headers["location"]) == (303, "/studio?done=calendar-reset")
    r = await client.get("/studio?done=calendar-reset", headers=mine)
    assert "订阅链接已重置，旧链接已失效。" in r.text
    new = (await client.get(api, headers=auth(w.streamer))).json()["url"]
    assert new != url and f'value="{new}"' in r.text
    assert (await client.get(url.removeprefix("http://127.0.0.1:8000"))).status_code == 404
    assert (await client.get(new.removeprefix("http://127.0.0.1:8000"))).status_code == 200
    # And a buyer may not reset anything
    buyer = await client.post(
        "/studio/calendar/reset", data={"_csrf": CSRF}, headers=as_user(w.buyer), follow_redirects=False
    )
    assert buyer.status_code == 403
