"""Document every route's error responses in the OpenAPI schema, derived from what the route declares.

Every route can answer 400 (malformed query, path or body) and 503 (a dependency is down). A guarded route can
answer 401 and 403; a route that takes input (path or query parameters, a body) 404 (it, or a resource it names,
does not exist) and 422 (well-formed but invalid); a write route also 403 (the CSRF check refuses a cookie write
without its token, whatever the route's guard) and 409; an upload 413; a log-in route 401; a rate-limited route
(`shop.ratelimit`) 429. Routes may add
their own `responses`; those take precedence. The schema fuzzer (tests/security/test_fuzz_api.py) holds every
route to these.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from shop.ratelimit import RATE_LIMIT_OPT


class FieldError(msgspec.Struct):
    field: str | None
    message: str


class ErrorBody(msgspec.Struct):
    status_code: int
    detail: str
    errors: list[FieldError] = []


_DESCRIPTIONS = {
    400: "Malformed request: `errors` names each bad field or parameter",
    401: "Not logged in, or the token is invalid or expired",
    403: "Logged in, but this role or workshop scope may not do this",
    404: "No such resource",
    409: "Conflicts with the current state (duplicate, stock, booking or state-machine conflict)",
    413: "The request body is larger than the hub accepts",
    422: "Well-formed but invalid: `errors` names the field and the problem",
    429: "Too many requests; retry later",
    503: "A service the hub depends on is unavailable; retry shortly",
}


def _spec(code: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code], generate_examples=False)


# Function parameters that are injected (dependencies, the request), not taken from the caller's input.
_INJECTED = frozenset(
    {"self", "request", "db_session", "settings", "caller", "optional_caller", "paging", "figures", "state", "scope"}
)


def _takes_input(handler: HTTPRouteHandler, path: str) -> bool:
    if "{" in path:
        return True
    return any(name not in _INJECTED for name in handler.parsed_fn_signature.parameters)


def _codes(handler: HTTPRouteHandler, path: str, controller_guarded: bool) -> set[int]:
    codes = {400, 503}  # every route validates its query, path or body
    public = bool(handler.opt.get("public"))
    if not public and (handler.guards or controller_guarded):
        codes |= {401, 403}
    if _takes_input(handler, path):
        codes |= {404, 422}
    methods = set(handler.http_methods)
    if methods & {"POST", "PUT", "PATCH", "DELETE"}:
        codes |= {403, 404, 409, 422}
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None and "multipart" in str(data.kwarg_definition or "").lower():
            codes.add(413)
    if path.endswith("/login"):
        codes.add(401)
    if handler.opt.get(RATE_LIMIT_OPT):
        codes.add(429)
    return codes


def document_errors(route_handlers: list[Any]) -> None:
    """Attach error response specs to every HTTP handler in the given controllers and handlers (in place)."""
    for item in route_handlers:
        if isinstance(item, type) and issubclass(item, Controller):
            guards = vars(item).get("guards")
            guarded = bool(guards) and isinstance(guards, list | tuple)
            base = vars(item).get("path", "")
            base = base if isinstance(base, str) else ""
            for value in vars(item).values():
                if isinstance(value, HTTPRouteHandler):
                    _attach(value, base + "".join(value.paths), guarded)
        elif isinstance(item, HTTPRouteHandler):
            _attach(item, "".join(item.paths), False)


def _attach(handler: HTTPRouteHandler, path: str, controller_guarded: bool) -> None:
    responses = dict(handler.responses or {})
    for code in sorted(_codes(handler, path, controller_guarded)):
        responses.setdefault(code, _spec(code))
    handler.responses = responses
