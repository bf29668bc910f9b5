"""Rate limits (限流): log-in, pickup-code attempts, search and checkout, each its own window, limit and caller key.

A route takes part by naming its policy in its opt (`opt={**PUBLIC, **limited(SEARCH)}`); the OpenAPI schema then
documents its 429. Each policy is one Litestar `RateLimitConfig` with its own store (`hub:rate_limit_<name>` in
Redis when REDIS_URL is set, this process's memory otherwise; see `shop.cache.build_stores`) and identifier.

The middleware is Litestar's with one change, a fixed-window counter of one atomic store call per request
(`hit`: SET NX EX + INCR + TTL in one Redis transaction). Litestar's own keeps a list of timestamps per caller read
and written back under a process-wide lock: two store calls on the checkout path, every checkout of the process
queued behind one lock (a stalled Redis stalled them all), and two workers could both read the same list and lose a
hit. A refusal is a 429 with Retry-After and the RateLimit-* headers, in the shop's error body (or an error page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware, get_remote_address
from litestar.stores.base import Store
from litestar.types import Message, Receive, Scope, Send

from shop.accounts.models import Role
from shop.auth import decode_token
from shop.settings import Settings
from shop.web.kiosk.device import KIOSK_COOKIE

RATE_LIMIT_OPT = "rate_limit"
EXEMPT_OPT = "no_rate_limit"  # a route that must never be refused (Stripe's webhook)

LOGIN = "login"
PICKUP_CODE = "pickup_code"
SEARCH = "search"
CHECKOUT = "checkout"


def limited(policy: str) -> dict[str, Any]:
    """The opt entry that puts a route under a policy."""
    return {RATE_LIMIT_OPT: policy}


def client_address(request: Request[Any, Any, Any]) -> str:
    return "ip:" + get_remote_address(request)


def caller_identity(request: Request[Any, Any, Any]) -> str:
    """The account when logged in; a kiosk by its device (one screen serves a queue of visitors, so it is not one
    person, but it is one device); else the client address."""
    user = request.scope.get("user")
    if user is not None:
        return f"user:{user.id}"
    token = request.cookies.get(KIOSK_COOKIE)  # only sent to /kiosk pages
    if token:
        claims = decode_token(token, request.app.state.settings.app.secret_key)
        if claims is not None and claims.get("role") == Role.KIOSK.value:
            return f"kiosk:{claims['sub']}"
    return client_address(request)


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    per_minute: int
    identify: Callable[[Request[Any, Any, Any]], str]

    @property
    def store(self) -> str:
        return f"rate_limit_{self.name}"


def policies(settings: Settings) -> list[Policy]:
    app = settings.app
    return [
        Policy(LOGIN, app.login_rate_per_minute, client_address),  # nobody is logged in yet
        Policy(PICKUP_CODE, app.pickup_code_rate_per_minute, caller_identity),
        Policy(SEARCH, app.search_rate_per_minute, caller_identity),
        Policy(CHECKOUT, app.checkout_rate_per_minute, caller_identity),
    ]


async def hit(store: Store, key: str, window: int) -> tuple[int, int]:
    """Count one request: (requests in the current window, seconds until it resets)."""
    count: Callable[[str, int], Any] | None = getattr(store, "hit", None)
    if count is None:
        raise TypeError(f"The rate-limit store {type(store).__name__} cannot count; see shop.cache.build_stores.")
    result: tuple[int, int] = await count(key, window)
    return result


class FixedWindowRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's rate-limit middleware, counting with one atomic store call (see the module docstring)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: Litestar = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request=request):
            window = DURATION_VALUES[self.unit]
            store = self.config.get_store_from_app(app)
            count, reset_in = await hit(store, self.get_identifier_for_request(request), window)
            headers = self.headers(count, reset_in)
            if count > self.max_requests:
                raise TooManyRequestsException(
                    detail=f"Too many requests; retry in {reset_in} seconds.",
                    headers={**headers, "Retry-After": str(reset_in)},
                )
            send = self.with_headers(send, headers)
        await self.app(scope, receive, send)

    def headers(self, count: int, reset_in: int) -> dict[str, str]:
        config = self.config
        return {
            config.rate_limit_policy_header_key: f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
            config.rate_limit_limit_header_key: str(self.max_requests),
            config.rate_limit_remaining_header_key: str(max(0, self.max_requests - count)),
            config.rate_limit_reset_header_key: str(reset_in),
        }

    @staticmethod
    def with_headers(send: Send, headers: dict[str, str]) -> Send:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                scope_headers = MutableScopeHeaders(message)
                for key, value in headers.items():
                    scope_headers[key] = value
            await send(message)

        return send_wrapper


def _under(name: str) -> Callable[[Request[Any, Any, Any]], Awaitable[bool]]:
    # async on purpose: Litestar runs a plain function given as check_throttle_handler in a worker thread
    async def check(request: Request[Any, Any, Any]) -> bool:
        return request.route_handler.opt.get(RATE_LIMIT_OPT) == name

    return check


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    """One middleware per policy that is on (a limit of 0 is off and costs nothing)."""
    return [
        RateLimitConfig(
            rate_limit=("minute", policy.per_minute),
            store=policy.store,
            identifier_for_request=policy.identify,
            check_throttle_handler=_under(policy.name),
            exclude_opt_key=EXEMPT_OPT,
            middleware_class=FixedWindowRateLimitMiddleware,
        ).middleware
        for policy in policies(settings)
        if policy.per_minute > 0
    ]
