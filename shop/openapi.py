"""Document every route's error responses in the OpenAPI schema, derived from what the route declares.

A guarded route can answer 401 and 403; a route with path parameters 404; a write route 409 and 422; a route
with parameters or a body 400. Routes may add their own `responses`; those take precedence.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec


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
    422: "Well-formed but invalid: `errors` names the field and the problem",
    429: "Too many requests; retry later",
    503: "A service the hub depends on is unavailable; retry shortly",
}


def _spec(code: int) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code], generate_examples=False)


def _codes(handler: HTTPRouteHandler, path: str, controller_guarded: bool) -> set[int]:
    codes = {503}
    public = bool(handler.opt.get("public"))
    if not public and (handler.guards or controller_guarded):
        codes |= {401, 403}
    if "{" in path:
        codes.add(404)
    methods = set(handler.http_methods)
    if methods & {"POST", "PUT", "PATCH", "DELETE"}:
        codes |= {400, 409, 422}
    codes.add(400)  # every route validates its query, path or body
    if path.endswith("/login"):
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
