"""CSRF protection for requests a browser authenticates by cookie (the page session, the anonymous cart).

Double-submit token: every visitor gets a random `hub_csrf` cookie; pages put the same value in forms (`_csrf`) and
in htmx's `X-CSRF-Token` header. A write (POST/PUT/PATCH/DELETE) that carries one of our credential cookies and no
`Authorization` header must present the token, or it is refused with 403. Machine clients send a bearer token and no
cookie, so the API is unaffected; a forged cross-site form cannot read the cookie to copy it.
"""

from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

CSRF_COOKIE = "hub_csrf"
CSRF_HEADER = b"x-csrf-token"
CSRF_FIELD = "_csrf"
CREDENTIAL_COOKIES = frozenset({"hub_session", "hub_cart", "hub_kiosk"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
# A CSRF field sits near the start of a form we render; a body is read at most this far to find it.
MAX_FORM_SCAN = 64 * 1024


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope["headers"]:
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as no cookies
                return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _form_token(body: bytes, content_type: bytes) -> str | None:
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        values = parse_qs(body[:MAX_FORM_SCAN].decode("utf-8", "replace")).get(CSRF_FIELD)
        return values[0] if values else None
    marker = b'name="' + CSRF_FIELD.encode() + b'"'
    at = body.find(marker, 0, MAX_FORM_SCAN)
    if at < 0:
        return None
    start = body.find(b"\r\n\r\n", at)
    end = body.find(b"\r\n", start + 4)
    return body[start + 4 : end].decode("ascii", "replace") if start > 0 and end > 0 else None


async def _refuse(send: Send) -> None:
    body = json.dumps(
        {
            "status_code": 403,
            "detail": "The form's security token is missing or out of date; reload the page and try again.",
            "errors": [{"field": CSRF_FIELD, "message": "missing or wrong CSRF token"}],
        }
    ).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


def csrf_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = cookies.get(CSRF_COOKIE, "")
        fresh = len(token) < 32
        if fresh:
            token = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state["csrf_token"] = token
        headers = dict(scope["headers"])
        method = str(scope.get("method", "GET"))
        needs_check = (
            method not in SAFE_METHODS and b"authorization" not in headers and bool(CREDENTIAL_COOKIES & cookies.keys())
        )
        if needs_check:
            presented = headers.get(CSRF_HEADER, b"").decode("latin-1")
            content_type = headers.get(b"content-type", b"")
            replay: list[ReceiveMessage] = []
            if not presented and content_type.startswith(FORM_TYPES):
                body = b""
                while True:
                    message = await receive()
                    replay.append(message)
                    chunk = message.get("body", b"")
                    body += chunk if isinstance(chunk, bytes) else b""
                    if not message.get("more_body") or len(body) > MAX_FORM_SCAN:
                        break
                presented = _form_token(body, content_type) or ""
            if fresh or not hmac.compare_digest(presented.encode(), token.encode()):
                await _refuse(send)
                return
            if replay:
                original_receive = receive

                async def replaying_receive() -> ReceiveMessage:
                    return replay.pop(0) if replay else await original_receive()

                receive = replaying_receive

        secure = scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto") == b"https"

        async def send_with_cookie(message: Message) -> None:
            # Only a page that rendered the token (templating marks it) needs the cookie; API answers stay cookie-free.
            if fresh and message["type"] == "http.response.start" and state.get("csrf_used"):
                cookie = f"{CSRF_COOKIE}={token}; Path=/; SameSite=Lax" + ("; Secure" if secure else "")
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie)
            await send(message)

        await app(scope, receive, send_with_cookie)

    return middleware
