"""Request id and security headers for every response."""

from __future__ import annotations

import uuid

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    # No page needs inline script (tests/security/test_web_security.py keeps templates free of it), so scripts come
    # only from our own static files; inline styles stay allowed (htmx injects its indicator style, some pages
    # print with a <style> block). Forms post only to us, nothing may frame us, no plugins, no <base> hijack.
    "content-security-policy": (
        # Stripe.js (the online payment page) loads from js.stripe.com, frames its card/Alipay/WeChat Pay fields and
        # talks to api.stripe.com: the hosts Stripe documents for a CSP; nothing else leaves 'self'.
        "default-src 'self'; img-src 'self' data: blob: https://*.stripe.com; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "
        "connect-src 'self' ws: wss: https://api.stripe.com; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        tls = scope.get("scheme") == "https" or dict(scope["headers"]).get(b"x-forwarded-proto") == b"https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["x-request-id"] = request_id
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
                if tls:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware
