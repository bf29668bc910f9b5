"""Domain errors and the JSON bodies users see for them.

Every error body has the shape ``{"status_code": int, "detail": str, "errors": [{"field": ..., "message": ...}]}``
so a client can show the problem next to the field that caused it.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

log = structlog.get_logger(__name__)


class DomainError(Exception):
    """Base of errors a user can act on."""

    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class InvalidInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class Unauthorized(DomainError):
    status_code = 401


class ServiceUnavailable(DomainError):
    status_code = 503


def error_body(
    status_code: int, detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"status_code": status_code, "detail": detail, "errors": errors or []}
    body.update(extra)
    return body


def _json(
    status_code: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Response[Any]:
    if request is not None:
        # A person at a page gets a page (or the log-in form), not JSON; the import is late because pages import us.
        from shop.web.errors import is_page_request, page_error

        if is_page_request(request):
            return page_error(request, status_code, str(body.get("detail", "")), headers)
    return Response(content=body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
    return _json(exc.status_code, error_body(exc.status_code, exc.detail, errors, **exc.extra), request=request)


def validation_error_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors.append({"field": item.get("key") or item.get("source"), "message": item.get("message", "")})
    if not errors:
        # Missing parameters are reported only in the detail ("Missing required query parameter 'q' for ...").
        missing = re.search(r"parameter '([^']+)'", exc.detail or "")
        if missing:
            errors.append({"field": missing.group(1), "message": exc.detail.split(" for ")[0]})
    # Litestar raises 400 for both malformed bodies and bad values; both name the field in `errors`.
    return _json(exc.status_code, error_body(exc.status_code, exc.detail, errors))


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", "Bearer")
    return _json(exc.status_code, error_body(exc.status_code, exc.detail), headers=headers, request=request)


def integrity_error_handler(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    log.info("integrity_conflict", error=str(exc.orig)[:200])
    return _json(409, error_body(409, "The change conflicts with existing data (duplicate or still referenced)."))


def database_unavailable_handler(_: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        log.warning("database_unavailable", error=str(exc.orig)[:200])
        return _json(503, error_body(503, "The database is unavailable; please retry shortly."), {"Retry-After": "2"})
    log.exception("database_error")
    return _json(500, error_body(500, "Internal server error"))


OUT_OF_RANGE = "A number in the request is out of range (ids and amounts are at most 9223372036854775807)."


def out_of_range_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """An integer the database cannot store (SQLite: OverflowError; PostgreSQL: DataError) is bad input, not a 500."""
    log.info("value_out_of_range", error_type=type(exc).__name__)
    return _json(400, error_body(400, OUT_OF_RANGE), request=request)


def connection_error_handler(_: Request[Any, Any, Any], exc: OSError) -> Response[Any]:
    log.warning("dependency_unavailable", error=str(exc)[:200])
    return _json(
        503, error_body(503, "A service the hub depends on is unavailable; please retry shortly."), {"Retry-After": "2"}
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, error_body(500, "Internal server error"), request=request)


exception_handlers: dict[Any, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    NotAuthorizedException: http_error_handler,
    PermissionDeniedException: http_error_handler,
    HTTPException: http_error_handler,
    IntegrityError: integrity_error_handler,
    DataError: out_of_range_handler,
    OverflowError: out_of_range_handler,
    DBAPIError: database_unavailable_handler,
    ConnectionError: connection_error_handler,
    TimeoutError: connection_error_handler,
    Exception: internal_error_handler,
}
