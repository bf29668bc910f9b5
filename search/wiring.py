"""App wiring for search: add ``"search.wiring"`` to ``shop.app.WIRING_MODULES``.

On start-up it builds the :class:`SearchService` from settings, applies the stored synonyms, and fills the index:
the embedded engine lives in memory, so every process builds it from the catalogue when it starts (in the
background; searches answer from what is indexed so far, an empty index at first). With Meilisearch the index
persists and only its settings are pushed; ``hub search reindex`` rebuilds it. ``/health`` reads
``app.state.search_health``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from litestar import Litestar

from livestream.services.broadcast import live_product_ids
from search.engine.meili import MeiliEngine
from search.jobs import LocalIndexer
from search.services import SearchService
from shop.db import create_engine, create_session_factory
from shop.settings import DatabaseSettings

log = structlog.get_logger(__name__)


async def _warm_up(service: SearchService, app: Litestar) -> None:
    # The warm-up only reads. On SQLite it reads on a deferred (non-locking) connection, so a long rebuild, or one
    # cancelled at shutdown, never holds the write lock the shop's checkouts need.
    factory = app.state.session_factory
    bind = factory.kw.get("bind")
    read_engine = None
    if bind is not None and bind.dialect.name == "sqlite":
        url = bind.url.render_as_string(hide_password=False)
        read_engine = create_engine(
            DatabaseSettings.model_validate({"DATABASE_URL": url}), null_pool=True, sqlite_immediate=False
        )
        factory = create_session_factory(read_engine)
    try:
        async with factory() as session:
            await service.load_synonyms(session)
            primary = getattr(service.products, "primary", service.products)
            if isinstance(primary, MeiliEngine):
                # The embedded fallback copy is filled too, so a Meilisearch outage still finds products.
                await service.reindex_fallback(session)
                for engine in (service.products, service.workshops):
                    meili = getattr(engine, "primary", engine)
                    if isinstance(meili, MeiliEngine):
                        await meili.ensure_index()
            else:
                await service.reindex(session)
    except Exception as exc:  # search must never stop the app from starting
        log.warning("search.warm_up_failed", error=str(exc))
    finally:
        if read_engine is not None:
            await read_engine.dispose()


async def _warm_up_then_follow(service: SearchService, app: Litestar, indexer: LocalIndexer | None) -> None:
    if indexer is not None:
        try:
            await indexer.start_cursor()  # before the rebuild, so no change between the two is missed
        except Exception as exc:
            log.warning("search.cursor_failed", error=str(exc))
    await _warm_up(service, app)
    app.state.search_warmed_up = True  # the test client waits for this before handing the app to a test
    # Tests drive `app.state.search_indexer.drain()` themselves: a timer would race their SQLite transactions.
    if indexer is not None and app.state.settings.app.environment != "test":
        await indexer.run()


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    service = SearchService.from_settings(app.state.settings, app.state.session_factory)
    service.live_products = live_product_ids  # the "live now" facet: products in a live session's line-up
    app.state.search = service
    app.state.search_health = service.health
    # The embedded index lives in this process, so this process follows the outbox for it.
    indexer = (
        LocalIndexer(service, app.state.session_factory) if app.state.settings.search.backend == "embedded" else None
    )
    app.state.search_indexer = indexer
    app.state.search_warmed_up = False
    task = asyncio.create_task(_warm_up_then_follow(service, app, indexer))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
