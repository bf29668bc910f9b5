"""The kiosk's device credential: a long-lived JWT of a `kiosk` account, kept in the HttpOnly `hub_kiosk` cookie.

The cookie is scoped to `/kiosk` and is not the page session (`hub_session`), so the API's authentication never
sees it: the device token opens the kiosk's own pages and nothing else. Every `/kiosk…` page checks it through
`require_kiosk_device`; a screen without a valid kiosk token gets a plain "not activated" page (401, or 403 for a
token that is valid but not a kiosk's).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.accounts.models import Role
from shop.auth import Caller, decode_token, load_caller
from shop.settings import Settings

KIOSK_COOKIE = "hub_kiosk"
KIOSK_PATH = "/kiosk"
MAX_TOKEN_CHARS = 4096


class KioskNotActivated(Exception):
    """The screen has no valid kiosk device token: 401 (none, expired or forged) or 403 (not a kiosk's token)."""

    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


async def authenticate_device(
    token: str | None, secret: str, session_factory: async_sessionmaker[AsyncSession]
) -> tuple[Caller, dict[str, Any]]:
    """The kiosk account behind a device token, and the token's claims; raises KioskNotActivated otherwise."""
    if not token:
        raise KioskNotActivated(401, "missing")
    if len(token) > MAX_TOKEN_CHARS:
        raise KioskNotActivated(401, "invalid")
    claims = decode_token(token, secret)
    if claims is None:
        raise KioskNotActivated(401, "invalid")
    if claims.get("role") != Role.KIOSK.value:
        raise KioskNotActivated(403, "not_kiosk")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise KioskNotActivated(401, "invalid") from None
    async with session_factory() as session:
        caller = await load_caller(session, user_id)
    # The account must still exist, be active and still be a kiosk (a role change revokes its device tokens).
    if caller is None or caller.role is not Role.KIOSK:
        raise KioskNotActivated(403, "not_kiosk")
    return caller, claims


async def require_kiosk_device(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every kiosk page: a valid kiosk device token in the `hub_kiosk` cookie."""
    state = connection.app.state
    device, _claims = await authenticate_device(
        connection.cookies.get(KIOSK_COOKIE), state.settings.app.secret_key, state.session_factory
    )
    connection.state.kiosk_device = device


def device_cookie(token: str, claims: dict[str, Any], settings: Settings) -> Cookie:
    """HttpOnly, SameSite=Strict, only sent to /kiosk pages, and kept until the token itself expires."""
    expires = int(claims.get("exp", 0)) - int(dt.datetime.now(dt.UTC).timestamp())
    return Cookie(
        key=KIOSK_COOKIE,
        value=token,
        httponly=True,
        samesite="strict",
        secure=settings.app.secure_cookies,
        max_age=max(expires, 0),
        path=KIOSK_PATH,
    )
