"""Going live and ending tell search (via the outbox) that the line-up's products are, or are no longer, live now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livestream.schemas import SessionCreate
from livestream.services.broadcast import BroadcastService, live_product_ids
from livestream.services.figures import LiveFigures
from livestream.services.livestore import MemoryLiveStore
from livestream.services.scheduling import SchedulingService
from search.jobs import apply_batch
from search.schemas import SearchParams
from search.services import SearchService
from shop.outbox import SEARCH_TOPIC, OutboxEvent
from shop.settings import Settings
from tests.livestream.helpers import SATURDAY, at, caller_of, world


async def test_live_now_follows_the_session(session: AsyncSession, settings: Settings) -> None:
    # given a scheduled session whose line-up holds the catalogue's brown sugar, and an index of the catalogue
    w = await world(session)
    sugar = w.catalogue.product.product.id
    live = await SchedulingService(session).book(
        caller_of(w.admin),
        SessionCreate(
            studio_id=w.studio.id,
            title="红糖专场",
            starts_at=at(SATURDAY, "20:00"),
            ends_at=at(SATURDAY, "22:00"),
            streamer_user_id=w.streamer.id,
            product_ids=[sugar],
        ),
    )
    service = SearchService.from_settings(settings)
    service.live_products = live_product_ids
    await service.reindex(session)
    await session.commit()
    live_now = SearchParams(live_now=True)
    assert (await service.search(live_now)).total == 0
    figures = LiveFigures(MemoryLiveStore(), None)
    # when the session goes live
    await BroadcastService(session, figures, now=at(SATURDAY, "20:00")).start(caller_of(w.admin), live.id)
    applied, cursor = await apply_batch(service, session, after_id=0)
    # then its line-up is live now in search
    assert applied == 1
    assert [h.id for h in (await service.search(live_now)).hits] == [sugar]
    # when it ends, it no longer is
    await BroadcastService(session, figures, now=at(SATURDAY, "22:00")).end(caller_of(w.admin), live.id)
    await apply_batch(service, session, after_id=cursor)
    assert (await service.search(live_now)).total == 0
    reasons = list(
        await session.scalars(
            select(OutboxEvent.reason)
            .where(OutboxEvent.topic == SEARCH_TOPIC, OutboxEvent.entity_id == sugar, OutboxEvent.entity == "product")
            .order_by(OutboxEvent.id)
        )
    )
    assert reasons[-2:] == ["live_status", "live_status"]
