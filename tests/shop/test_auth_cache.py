"""The auth middleware's account cache: a change to an account is seen at once by the process that made it, and by
every other process within CALLER_TTL_SECONDS."""

from __future__ import annotations

import asyncio
import datetime as dt

import time_machine
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role, User
from shop.auth import CALLER_TTL_SECONDS, CallerCache, decode_token, issue_token
from tests import factories as f


async def test_a_role_change_by_an_admin_applies_to_the_next_request(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a kiosk account whose token has been used (so it is cached) and an admin
    kiosk = await f.user(session, Role.KIOSK)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    assert (await client.get("/api/auth/me", headers=f.auth(kiosk))).json()["role"] == "kiosk"
    # when the admin makes it a buyer account
    r = await client.patch(f"/api/admin/users/{kiosk.id}", json={"role": "buyer"}, headers=f.auth(admin))
    assert r.status_code == 200, r.text
    # then the very next request with the old token is a buyer's
    assert (await client.get("/api/auth/me", headers=f.auth(kiosk))).json()["role"] == "buyer"


async def test_an_account_disabled_through_another_session_is_refused_at_once(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a buyer whose token is cached
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 200
    # when any session of this process (here the test's own, on its own engine) disables the account
    buyer.is_active = False
    await session.commit()
    # then the next request is refused
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 401


async def test_a_change_this_process_did_not_make_is_seen_within_the_time_to_live(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a buyer whose token is cached, with a short time to live for the test
    assert CALLER_TTL_SECONDS <= 5
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 200
    cache: CallerCache = app.state.caller_cache
    cache.ttl = 0.3
    cache.forget({buyer.id})
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 200
    # when another process disables the account (plain SQL: no ORM event reaches this process)
    await session.execute(update(User).where(User.id == buyer.id).values(is_active=False))
    await session.commit()
    # then the cached account is still served until the time to live runs out, and refused after it
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 200
    await asyncio.sleep(0.4)
    assert (await client.get("/api/auth/me", headers=f.auth(buyer))).status_code == 401


def test_a_token_checked_once_is_still_refused_once_it_expires() -> None:
    # given a token good for one minute, checked (and so remembered) once
    secret = "cache-secret-0123456789abcdef0123456789abcdef"
    token = issue_token(7, Role.BUYER, secret, dt.timedelta(minutes=1))
    assert decode_token(token, secret) is not None
    # when a minute and a second have passed
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61), tick=False):
        # then the remembered token is refused, as an unremembered one would be
        assert decode_token(token, secret) is None
    # and a remembered token never vouches for another secret, nor for one altered character
    assert decode_token(token, secret + "x") is None
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert decode_token(forged, secret) is None
    # and its claims cannot be changed through the copy a caller gets
    claims = decode_token(token, secret)
    assert claims is not None and claims["sub"] == "7"
    claims["sub"] = "8"
    assert decode_token(token, secret)["sub"] == "7"  # type: ignore[index]
