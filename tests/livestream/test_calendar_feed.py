"""订阅日历: a streamer's schedule opens only by its secret address, which the streamer or centre staff show, reset
and revoke; the old by-id feed is gone, and unknown, reset, revoked and guessed addresses get one and the same 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pytest
import time_machine
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.models import CalendarFeedToken
from livestream.schemas import SessionCreate
from livestream.services.calendar_feed import CalendarFeedService, derive_token
from livestream.services.scheduling import SchedulingService
from shop.accounts.models import User
from shop.logging import _scrub
from shop.settings import Settings
from tests.factories import auth
from tests.livestream.helpers import SATURDAY, at, caller_of, world

Client = AsyncTestClient[Litestar]
NOW = dt.datetime(2031, 2, 20, 2, 0, tzinfo=dt.UTC)  # a Thursday before SATURDAY, 10:00 in Shanghai
UNKNOWN = {
    "status_code": 404,
    "detail": "This calendar address is unknown or was reset; copy the current one from the studio page.",
    "errors": [],
}


def feed_api(user: User) -> str:
    return f"/api/live/streamers/{user.id}/calendar-feed"


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


async def rows(db: AsyncSession) -> list[tuple[int, int, str, bool]]:
    """(id, streamer, token hash, revoked?) of every token row, read fresh."""
    result = await db.execute(
        select(
            CalendarFeedToken.id,
            CalendarFeedToken.streamer_user_id,
            CalendarFeedToken.token_hash,
            CalendarFeedToken.revoked_at,
        )
        .order_by(CalendarFeedToken.id)
        .execution_options(populate_existing=True)
    )
    out = [(i, s, h, r is not None) for i, s, h, r in result.tuples()]
    await db.commit()  # SQLite: end the read so the app can write
    return out


async def test_the_streamer_gets_a_secret_address_that_serves_exactly_their_sessions(
    client: Client, db: AsyncSession
) -> None:
    with time_machine.travel(NOW, tick=False):
        # Given a session booked for SATURDAY 20:00–22:00, and another streamer's session that evening
        w = await world(db)
        live = await SchedulingService(db).book(
            caller_of(w.streamer),
            SessionCreate(
                studio_id=w.studio.id,
                title="青田红糖专场",
                starts_at=at(SATURDAY, "20:00"),
                ends_at=at(SATURDAY, "22:00"),
                description="现熬红糖，边看边买",
            ),
        )
        await SchedulingService(db).book(
            caller_of(w.other_streamer),
            SessionCreate(
                studio_id=w.other_studio.id,
                title="别人的专场",
                starts_at=at(SATURDAY, "20:00"),
                ends_at=at(SATURDAY, "21:00"),
            ),
        )
        await db.commit()
        share_code = live.share_code
        # When the streamer asks for their address twice
        first = await client.get(feed_api(w.streamer), headers=auth(w.streamer))
        again = await client.get(feed_api(w.streamer), headers=auth(w.streamer))
        # Then one address is issued and shown again on demand; the token carries 256 bits and only its hash is kept
        assert first.status_code == 200, first.text
        out = first.json()
        token = out["url"].removeprefix("http://127.0.0.1:8000/api/live/calendar/").removesuffix(".ics")
        assert len(token) == 43
        assert out == {
            "streamer_id": w.streamer.id,
            "url": f"http://127.0.0.1:8000/api/live/calendar/{token}.ics",
            "webcal_url": f"webcal://127.0.0.1:8000/api/live/calendar/{token}.ics",
            "created_at": "2031-02-20T02:00:00Z",
            "last_used_at": None,
        }
        assert again.json() == out
        stored = await rows(db)
        assert [(s, h, r) for _, s, h, r in stored] == [
            (w.streamer.id, hashlib.sha256(token.encode()).hexdigest(), False)
        ]
        # When a phone calendar fetches the address
        ics = await client.get(path_of(out["url"]))
    # Then it gets the streamer's session as iCalendar, with the feed's headers, and nobody else's
    assert ics.status_code == 200, ics.text
    assert ics.headers["content-type"] == "text/calendar; charset=utf-8"
    assert ics.headers["content-disposition"] == f'inline; filename="streamer-{w.streamer.id}.ics"'
    assert ics.headers["cache-control"] == "private, no-store"
    text = ics.content.decode().replace("\r\n ", "")  # unfold long lines
    event = text[text.index("BEGIN:VEVENT") : text.index("END:VEVENT") + len("END:VEVENT")]
    assert event.split("\r\n") == [
        "BEGIN:VEVENT",
        "SUMMARY:直播：青田红糖专场",
        "DTSTART;TZID=Asia/Shanghai:20310301T200000",
        "DTEND;TZID=Asia/Shanghai:20310301T220000",
        "DTSTAMP:20310220T020000Z",
        f"UID:live-session-{live.id}@workshop-sales-hub",
        f"DESCRIPTION:分享链接 http://127.0.0.1:8000/live/s/{share_code}\\n现熬红糖，边看边买",
        "LAST-MODIFIED:20310220T020000Z",
        "LOCATION:青田共享直播间 仁庄镇共富工坊综合服务中心",
        "STATUS:CONFIRMED",
        f"URL:http://127.0.0.1:8000/live/s/{share_code}",
        "END:VEVENT",
    ]
    assert text.count("BEGIN:VEVENT") == 1 and "别人的专场" not in text
    assert "X-WR-CALNAME:村播小王 直播排期" in text
    # And the fetch is noted on the row (for "last used" on the page)
    assert (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["last_used_at"] is not None


async def test_reset_retires_the_old_address_and_revoke_closes_the_current_one(
    client: Client, db: AsyncSession
) -> None:
    # Given a streamer's address that works
    w = await world(db)
    old = (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["url"]
    assert (await client.get(path_of(old))).status_code == 200
    # When they reset it
    reset = await client.post(feed_api(w.streamer), headers=auth(w.streamer))
    # Then the new address works, the old one is a 404, and the page shows the new one
    assert reset.status_code == 201, reset.text
    new = reset.json()["url"]
    assert new != old
    assert (await client.get(path_of(new))).status_code == 200
    gone = await client.get(path_of(old))
    assert (gone.status_code, gone.json()) == (404, UNKNOWN)
    assert (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["url"] == new
    # When they revoke it
    revoked = await client.delete(feed_api(w.streamer), headers=auth(w.streamer))
    # Then it is a 404 too, answered exactly like a guessed address
    assert revoked.status_code == 204
    closed = await client.get(path_of(new))
    guessed = await client.get(f"/api/live/calendar/{secrets.token_urlsafe(32)}.ics")
    assert (closed.status_code, closed.json()) == (guessed.status_code, guessed.json()) == (404, UNKNOWN)
    # And a second revoke changes nothing; the next visit issues a third address, the only active row
    assert (await client.delete(feed_api(w.streamer), headers=auth(w.streamer))).status_code == 204
    third = (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["url"]
    assert third not in (old, new)
    assert (await client.get(path_of(third))).status_code == 200
    assert [(s, r) for _, s, _, r in await rows(db)] == [
        (w.streamer.id, True),
        (w.streamer.id, True),
        (w.streamer.id, False),
    ]


async def test_only_the_streamer_and_centre_staff_may_see_reset_or_revoke_the_address(
    client: Client, db: AsyncSession
) -> None:
    # Given the streamer's address
    w = await world(db)
    mine = (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["url"]
    before = await rows(db)
    # When anonymous callers, another streamer and a buyer try to read, reset or revoke it
    answers = []
    for headers in ({}, auth(w.other_streamer), auth(w.buyer)):
        answers.append(
            [
                (await client.get(feed_api(w.streamer), headers=headers)).status_code,
                (await client.post(feed_api(w.streamer), headers=headers)).status_code,
                (await client.delete(feed_api(w.streamer), headers=headers)).status_code,
            ]
        )
    # Then they are refused, nothing changed, and the address still works
    assert answers == [[401, 401, 401], [403, 403, 403], [403, 403, 403]]
    assert await rows(db) == before
    assert (await client.get(path_of(mine))).status_code == 200
    # And centre staff see the same address and may reset it (e.g. when a phone with it is lost)
    seen = await client.get(feed_api(w.streamer), headers=auth(w.admin))
    assert (seen.status_code, seen.json()["url"]) == (200, mine)
    assert (await client.post(feed_api(w.streamer), headers=auth(w.admin))).status_code == 201
    assert (await client.get(path_of(mine))).status_code == 404
    # And a buyer has no schedule to subscribe to
    buyer = await client.get(feed_api(w.buyer), headers=auth(w.admin))
    assert (buyer.status_code, buyer.json()["errors"][0]["field"]) == (422, "streamer_id")


async def test_the_schedule_is_not_public_by_id_and_addresses_cannot_be_guessed(
    client: Client, db: AsyncSession, settings: Settings
) -> None:
    # Given a streamer with an address
    w = await world(db)
    url = (await client.get(feed_api(w.streamer), headers=auth(w.streamer))).json()["url"]
    token = path_of(url).removeprefix("/api/live/calendar/").removesuffix(".ics")
    row_id = (await rows(db))[0][0]
    # When a visitor walks streamer ids on the old address, or tries made-up, altered or foreign tokens
    by_id = await client.get(f"/api/live/streamers/{w.streamer.id}/calendar.ics")
    tries = [
        secrets.token_urlsafe(32),
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token.upper() if token.upper() != token else token.lower(),
        derive_token("another-secret-key", w.streamer.id, row_id),
        derive_token(settings.app.secret_key, w.other_streamer.id, row_id),
        "x",
        "A" * 300,
        "%00",
        "%ff%fe",
        "红糖",
    ]
    answers = [await client.get(f"/api/live/calendar/{t}.ics") for t in tries]
    # Then the old address is gone and every try is the same 404
    assert by_id.status_code == 404
    assert [(a.status_code, a.json()) for a in answers] == [(404, UNKNOWN)] * len(tries)
    # And when the streamer's account is disabled, their address opens nothing either
    await db.execute(update(User).where(User.id == w.streamer.id).values(is_active=False))
    await db.commit()
    disabled = await client.get(path_of(url))
    assert (disabled.status_code, disabled.json()) == (404, UNKNOWN)


async def test_a_new_secret_key_retires_every_address_and_the_next_visit_issues_a_new_one(db: AsyncSession) -> None:
    # Given an address issued under the old secret key
    w = await world(db)
    old_service = CalendarFeedService(db, "old-secret-key", "https://hub.example")
    old = await old_service.current(caller_of(w.streamer), w.streamer.id)
    old_token = old.url.removeprefix("https://hub.example/api/live/calendar/").removesuffix(".ics")
    assert await old_service.resolve(old_token) == w.streamer.id
    # When the key is rotated
    new_service = CalendarFeedService(db, "new-secret-key", "https://hub.example")
    # Then the old address opens nothing, and the streamer's next visit issues a working one in its place
    with pytest.raises(Exception, match="unknown or was reset"):
        await new_service.resolve(old_token)
    new = await new_service.current(caller_of(w.streamer), w.streamer.id)
    new_token = new.url.removeprefix("https://hub.example/api/live/calendar/").removesuffix(".ics")
    assert new_token != old_token
    assert await new_service.resolve(new_token) == w.streamer.id
    assert [(s, r) for _, s, _, r in await rows(db)] == [(w.streamer.id, True), (w.streamer.id, False)]


async def test_a_streamer_has_at_most_one_active_address(db: AsyncSession) -> None:
    # Given a streamer's active address
    w = await world(db)
    streamer_id = w.streamer.id
    await CalendarFeedService(db, "k", "https://hub.example").current(caller_of(w.streamer), streamer_id)
    # When a second unrevoked row is written for them directly
    db.add(CalendarFeedToken(streamer_user_id=streamer_id, token_hash="f" * 64))
    # Then the database refuses it (two first visits at once cannot leave two live addresses)
    with pytest.raises(IntegrityError):
        await db.commit()
    await db.rollback()
    assert [(s, r) for _, s, _, r in await rows(db)] == [(streamer_id, False)]


def test_feed_addresses_are_scrubbed_from_logs() -> None:
    token = secrets.token_urlsafe(32)
    assert _scrub(f'"GET /api/live/calendar/{token}.ics HTTP/1.1" 200') == '"GET [redacted].ics HTTP/1.1" 200'
