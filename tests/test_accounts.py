"""Accounts: sign up, log in (rate-limited), who am I, admin-managed staff and kiosk device tokens."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role, User
from tests import factories as f


async def test_register_then_login_returns_a_token_and_the_page_cookie(client: AsyncTestClient[Litestar]) -> None:
    # when
    registered = await client.post(
        "/api/auth/register", json={"username": "lihua", "password": "s3cret-pass", "display_name": "李华"}
    )
    login = await client.post("/api/auth/login", json={"username": "LiHua", "password": "s3cret-pass"})
    # then
    assert registered.status_code == 201
    assert registered.json()["role"] == "buyer"
    assert login.status_code == 200
    token = login.json()["access_token"]
    assert "hub_session" in login.headers.get("set-cookie", "")
    assert "HttpOnly" in login.headers["set-cookie"]
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "lihua" and me.json()["display_name"] == "李华"


async def test_wrong_password_is_401_and_duplicate_username_409(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    await f.user(session, username="wangfang")
    await session.commit()
    # when
    wrong = await client.post("/api/auth/login", json={"username": "wangfang", "password": "nope-nope"})
    dup = await client.post(
        "/api/auth/register", json={"username": "WangFang", "password": "another-pass", "display_name": "王芳"}
    )
    short = await client.post("/api/auth/register", json={"username": "ab", "password": "x", "display_name": ""})
    # then
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Wrong username or password."
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "username"
    assert short.status_code == 400
    assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_login_is_rate_limited(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    # given the configured limit per minute
    limit = app.state.settings.app.login_rate_per_minute
    # when one more attempt than allowed is made
    codes = [
        (await client.post("/api/auth/login", json={"username": "x", "password": "y"})).status_code
        for _ in range(limit + 1)
    ]
    # then
    assert codes[:limit] == [401] * limit
    assert codes[limit] == 429


async def test_admin_creates_a_scoped_manager_and_a_kiosk_device_token(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    h = f.auth(admin)
    # when
    manager = await client.post(
        "/api/admin/users",
        json={
            "username": "hongtang_mgr",
            "password": "manager-pass",
            "display_name": "红糖工坊负责人",
            "role": "workshop_manager",
            "workshop_ids": [cat.workshop.id],
        },
        headers=h,
    )
    bad_scope = await client.post(
        "/api/admin/users",
        json={
            "username": "buyer2",
            "password": "buyer-pass1",
            "display_name": "买家",
            "role": "buyer",
            "workshop_ids": [cat.workshop.id],
        },
        headers=h,
    )
    kiosk = await client.post(
        "/api/admin/users",
        json={"username": "kiosk1", "password": "kiosk-pass1", "display_name": "展厅大屏", "role": "kiosk"},
        headers=h,
    )
    device = await client.post(f"/api/admin/users/{kiosk.json()['id']}/device-token", json={"days": 30}, headers=h)
    not_kiosk = await client.post(f"/api/admin/users/{manager.json()['id']}/device-token", json={}, headers=h)
    # then
    assert manager.status_code == 201 and manager.json()["workshop_ids"] == [cat.workshop.id]
    assert bad_scope.status_code == 422 and bad_scope.json()["errors"][0]["field"] == "workshop_ids"
    assert device.status_code == 201 and device.json()["expires_in"] == 30 * 86400
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {device.json()['access_token']}"})
    assert me.json()["role"] == "kiosk"
    assert not_kiosk.status_code == 422


async def test_a_disabled_account_token_stops_working(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given a buyer with a valid token, then disabled by an admin
    buyer = await f.user(session, Role.BUYER)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    headers = f.auth(buyer)
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 200
    # when
    await client.patch(f"/api/admin/users/{buyer.id}", json={"is_active": False}, headers=f.auth(admin))
    # then
    assert (await client.get("/api/auth/me", headers=headers)).status_code == 401
