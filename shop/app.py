"""The Litestar application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from shop.auth import OptionalJWTAuthMiddleware
from shop.cache import build_channels, build_stores, redis_client
from shop.db import create_engine, create_session_factory
from shop.deps import dependencies
from shop.errors import exception_handlers
from shop.jobs import JobContext, run_periodic
from shop.logging import configure_logging
from shop.metrics import metrics_middleware
from shop.middleware import request_context_middleware
from shop.openapi import document_errors
from shop.ratelimit import rate_limit_middleware
from shop.settings import Settings, get_settings
from shop.web.csrf import csrf_middleware
from shop.web.templating import template_config

log = structlog.get_logger(__name__)

# Each bounded context exposes `route_handlers` in its controllers module and may expose `lifespan(app)`
# (an async context manager started with the app) in `<context>.wiring`. Listed here so the app stays explicit.
CONTROLLER_MODULES = [
    "shop.health",
    "shop.accounts.controllers",
    "catalog.controllers",
    "livestream.controllers",
    "livestream.pages",
    "search.controllers",
    "logistics.controllers",
    "shop.cart.controllers",
    "shop.checkout.controllers",
    "shop.orders.controllers",
    "shop.payments.controllers",
    "shop.vouchers.controllers",
    "shop.benefits.controllers",
    "shop.benefits.pages",
    "shop.web.admin",
    "shop.web.controllers",
    "shop.web.storefront.controllers",
    "shop.web.kiosk.controllers",
    "shop.metrics",
]
WIRING_MODULES: list[str] = [
    "livestream.wiring",
    "search.wiring",
    "logistics.wiring",
    "shop.stock.wiring",
    "shop.integration",
    "shop.metrics",
]


def _route_handlers() -> list[Any]:
    handlers: list[Any] = []
    for name in CONTROLLER_MODULES:
        module = importlib.import_module(name)
        handlers.extend(getattr(module, "route_handlers", []))
        if name == "shop.health":
            handlers.append(module.HealthController)
    document_errors(handlers)
    return handlers


def _lifespans() -> list[Callable[[Litestar], Any]]:
    return [importlib.import_module(name).lifespan for name in WIRING_MODULES]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(
        json_logs=settings.app.environment != "development" or not settings.app.debug,
        cache=settings.app.environment != "test",
    )
    engine = create_engine(settings.db)
    session_factory = create_session_factory(engine)
    redis = redis_client(settings)
    settings.app.upload_dir.mkdir(parents=True, exist_ok=True)
    context_lifespans = _lifespans()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for context_lifespan in context_lifespans:
                await stack.enter_async_context(context_lifespan(app))
            if settings.app.inprocess_worker and settings.app.environment != "test":
                ctx = JobContext(settings, session_factory, app.state)
                await stack.enter_async_context(run_periodic(ctx))
            try:
                yield
            finally:
                await engine.dispose()
                if redis is not None:
                    await redis.aclose()

    app = Litestar(
        route_handlers=_route_handlers(),
        dependencies=dependencies,
        state=State({"settings": settings, "engine": engine, "session_factory": session_factory, "redis": redis}),
        lifespan=[lifespan],
        stores=build_stores(settings, redis),
        plugins=[build_channels(settings, redis)],
        middleware=[
            metrics_middleware,
            csrf_middleware,
            DefineMiddleware(OptionalJWTAuthMiddleware, exclude=["^/schema", "^/metrics$"]),  # metrics: own token
            *rate_limit_middleware(settings),  # after authentication: most limits count per account
        ],
        exception_handlers=exception_handlers,
        template_config=template_config(),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        openapi_config=OpenAPIConfig(
            title="Workshop Sales Hub API (共富工坊销售平台)",
            version="1.0.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                }
            ),
            security=[{"BearerToken": []}],
        ),
        request_max_body_size=settings.app.upload_max_bytes + 64 * 1024,
        debug=settings.app.debug,
    )
    # Outermost, around the router: request ids and security headers on every answer, unknown paths (404) included.
    app.asgi_handler = request_context_middleware(app.asgi_handler)
    return app
