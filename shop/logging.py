"""Structured JSON logs (structlog) with the request id bound to every line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are personal data or secrets wherever they appear (also inside nested dicts).
_PERSONAL_KEYS = {
    "phone",
    "password",
    "password_hash",
    "address",
    "recipient",
    "token",
    "access_token",
    "cart_token",
    "secret",
    "client_secret",
    "secret_key",
    "api_key",
    "webhook_secret",
    "authorization",
    "cookie",
    "set-cookie",
    "stripe_signature",
    "pickup_code",
    "code",
}
# Values that are secrets or personal data whatever key carries them (an error text, a URL, an SQL parameter list):
# mainland mobile numbers, JWTs, Stripe keys and signatures, statement-link, calendar-feed and bearer tokens.
_SECRET_VALUES = re.compile(
    r"(?<!\d)1[3-9]\d{9}(?!\d)"
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]+"
    r"|\b(?:sk|rk|pk|whsec)_(?:test_|live_)?[\w]{8,}"
    r"|\bt=\d+,v1=[0-9a-f]+"
    r"|/benefits/s/[\w-]{16,}"
    r"|/api/live/calendar/[\w-]{16,}"
    r"|(?i:bearer)\s+[\w.-]+"
)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUES.sub("[redacted]", value)
    if isinstance(value, dict):
        return {k: "[redacted]" if str(k).lower() in _PERSONAL_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _PERSONAL_KEYS:
            event_dict[key] = "[redacted]"
        elif key not in ("timestamp", "level", "request_id"):
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class _RedactingFilter(logging.Filter):
    """The same scrubbing for the standard library's loggers (SQLAlchemy, httpx, uvicorn, Litestar)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _scrub(record.getMessage())
        record.args = None
        return True


def configure_logging(json_logs: bool = True, level: int = logging.INFO, *, cache: bool = True) -> None:
    """Configure structlog and the stdlib root logger's redaction. `cache=False` (tests) keeps every logger following
    the current configuration, so `structlog.testing.capture_logs` sees loggers that were used before it."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,  # before redaction, so a traceback's text is scrubbed too
        _redact,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=cache,
    )
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, _RedactingFilter) for f in handler.filters):
            handler.addFilter(_RedactingFilter())
    if not any(isinstance(f, _RedactingFilter) for f in root.filters):
        root.addFilter(_RedactingFilter())
