"""Prometheus metrics (`GET /metrics`): requests, checkouts, payments, search, queues and live connections.

Safe with several uvicorn workers: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``hub serve --workers N`` sets a fresh
one when it is not), every process writes its samples to files there and a scrape of any worker sums them all.
The variable must be set before ``prometheus_client`` is first imported, which is why `hub serve` sets it in the
parent process, before uvicorn starts the workers.

Nothing personal is exported: labels are route templates (``/api/orders/{order_id}``, never the path with its
ids), methods, status codes, payment methods, backends and bounded reason codes. The endpoint is still guarded:
with ``METRICS_TOKEN`` set a scraper must send ``Authorization: Bearer <token>``; without it only loopback clients
(127.0.0.1, ::1 — a scraper on the same host or a sidecar) may read it.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Request, Response, get
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shop.auth import PUBLIC
from shop.metrics_dir import MULTIPROC_ENV

log = structlog.get_logger(__name__)

UNMATCHED = "<unmatched>"
# The classic text format every Prometheus 2.x and 3.x scrapes (the client's "latest" 1.0.0 needs Prometheus 3).
TEXT_FORMAT = "text/plain; version=0.0.4"
# Requests that answer in milliseconds and flash-sale checkouts that queue for a second both need resolution.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
SEARCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_REQUESTS = Counter(
    "hub_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
CHECKOUTS = Counter("hub_checkouts_total", "Checkouts: placed, or refused with a reason code", ["outcome", "reason"])
PAYMENTS = Counter("hub_payments_total", "Payment events by method and outcome", ["method", "outcome"])
SEARCH_LATENCY = Histogram(
    "hub_search_duration_seconds",
    "Search engine time per product search, by backend (degraded: answered by the embedded fallback)",
    ["backend", "degraded"],
    buckets=SEARCH_BUCKETS,
)
WEBSOCKETS = Gauge(
    "hub_websocket_connections",
    "Open WebSocket connections (live figures screens), by route template",
    ["route"],
    multiprocess_mode="livesum",
)

_REASON = re.compile(r"[^a-z0-9_]+")


def _reason(exc: BaseException | None) -> str:
    """A bounded reason code: the domain error's `reason` (out_of_stock, not_on_sale, ...) or its kind."""
    if exc is None:
        return "unknown"
    from shop.errors import DomainError

    if isinstance(exc, DomainError):
        given = exc.extra.get("reason")
        if isinstance(given, str) and given:
            return _REASON.sub("_", given.lower())[:40]
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()
    if isinstance(exc, Exception):
        return "error"
    return "cancelled"  # a client that went away mid-request (CancelledError) or shutdown


def checkout_placed() -> None:
    CHECKOUTS.labels("placed", "").inc()


def checkout_refused() -> None:
    """Call from an `except` block: counts the exception being handled by its reason code."""
    CHECKOUTS.labels("refused", _reason(sys.exc_info()[1])).inc()


def payment(method: str, outcome: str) -> None:
    PAYMENTS.labels(method, _REASON.sub("_", outcome.lower())[:40]).inc()


def payment_failed(method: str) -> None:
    """Call from an `except` block: a payment attempt that did not go through, by reason code."""
    PAYMENTS.labels(method, "refused_" + _reason(sys.exc_info()[1])).inc()


def search_observed(backend: str, took_ms: float, degraded: bool) -> None:
    SEARCH_LATENCY.labels(backend, "true" if degraded else "false").observe(max(0.0, took_ms) / 1000)


# ---------------------------------------------------------------------------------------------- middleware


def metrics_middleware(app: ASGIApp) -> ASGIApp:
    """Times every request by its route template; counts open WebSockets."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.get("path_template") or UNMATCHED
        if scope["type"] == "websocket":
            gauge = WEBSOCKETS.labels(route)
            gauge.inc()
            try:
                await app(scope, receive, send)
            finally:
                gauge.dec()
            return
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler ends as a 500 from the server

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            labels = (scope.get("method", "GET"), route, str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)

    return middleware


# ---------------------------------------------------------------------------------------------- the endpoint


class _QueueCollector(Collector):
    """Queue depths read at scrape time (one process answers; the figures live in the database)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


async def queue_families(state: Any) -> list[GaugeMetricFamily]:
    from shop.orders.events import ORDERS_TOPIC
    from shop.outbox import OutboxEvent
    from shop.stock.models import ReservationState, StockReservation

    pending = GaugeMetricFamily(
        "hub_outbox_pending", "Outbox events not yet applied by their consumer, by topic", labels=["topic"]
    )
    oldest = GaugeMetricFamily(
        "hub_outbox_oldest_pending_seconds",
        "Age of the oldest outbox event not yet applied, by topic",
        labels=["topic"],
    )
    overdue = GaugeMetricFamily(
        "hub_reservations_overdue",
        "Stock reservations past their expiry still holding units (the expiry job's backlog)",
    )
    active = GaugeMetricFamily("hub_reservations_active", "Stock reservations holding units for unpaid orders")
    try:
        async with state.session_factory() as session:
            # Order events are handed to subscribers in-process and kept as a record, never marked applied;
            # only topics with a consumer that marks rows (search) are a queue.
            rows = (
                await session.execute(
                    select(OutboxEvent.topic, func.count(), func.min(OutboxEvent.created_at))
                    .where(OutboxEvent.processed_at.is_(None), OutboxEvent.topic != ORDERS_TOPIC)
                    .group_by(OutboxEvent.topic)
                )
            ).all()
            now = time.time()
            for topic, count, first in rows:
                pending.add_metric([topic], int(count))
                oldest.add_metric([topic], max(0.0, now - first.timestamp()) if first is not None else 0.0)
            if not any(topic == "search" for topic, _, _ in rows):
                pending.add_metric(["search"], 0)
                oldest.add_metric(["search"], 0.0)
            from shop.db import utcnow

            held = (
                await session.execute(
                    select(
                        func.count(),
                        func.count().filter(StockReservation.expires_at < utcnow()),
                    ).where(StockReservation.state == ReservationState.ACTIVE)
                )
            ).one()
            await session.rollback()
        active.add_metric([], int(held[0]))
        overdue.add_metric([], int(held[1]))
    except Exception as exc:  # a scrape must answer even when the database does not
        log.warning("metrics_queue_depth_unavailable", error=str(exc)[:200])
        return []
    return [pending, oldest, active, overdue]


def _allowed(request: Request[Any, Any, Any]) -> bool:
    token = request.app.state.settings.app.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (a Unix socket peer, a test client's name)
        return False


def render_metrics(extra: list[GaugeMetricFamily]) -> bytes:
    registry: CollectorRegistry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    queues = CollectorRegistry()
    queues.register(_QueueCollector(extra))
    return generate_latest(registry) + generate_latest(queues)


@get("/metrics", opt=PUBLIC, include_in_schema=False, cache=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; 403 unless the scraper sends METRICS_TOKEN or connects from loopback."""
    if not _allowed(request):
        return Response(
            b"metrics are readable from loopback or with the METRICS_TOKEN bearer token\n",
            status_code=403,
            media_type="text/plain",
        )
    body = render_metrics(await queue_families(request.app.state))
    return Response(body, media_type=TEXT_FORMAT)  # Litestar adds the charset


# ---------------------------------------------------------------------------------------------- processes


def process_exited() -> None:
    """Drop this process's live gauges (open WebSockets) when it stops, so a scrape stops counting them."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    try:
        yield
    finally:
        process_exited()


route_handlers = [metrics_endpoint]
