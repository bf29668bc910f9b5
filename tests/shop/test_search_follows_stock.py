"""Selling the last unit (and getting it back) tells search through the outbox, in the checkout's transaction."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from search.jobs import apply_batch
from search.schemas import SearchParams
from search.services import SearchService
from shop.outbox import SEARCH_TOPIC, OutboxEvent
from tests.shop.helpers import Shop, checkout_body, fetch


async def product_events(session: AsyncSession, product_id: int) -> list[str]:
    rows = await fetch(
        session,
        select(OutboxEvent)
        .where(OutboxEvent.topic == SEARCH_TOPIC, OutboxEvent.entity_id == product_id)
        .order_by(OutboxEvent.id),
    )
    return [r.reason for r in rows]


async def test_sold_out_and_released_stock_reaches_the_index(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    # given an index of the catalogue, with the tea (20 units) in stock
    service = SearchService.from_settings(app.state.settings, app.state.session_factory)
    await service.reindex(session)
    await session.commit()
    tea = shop.tea.product.id
    in_stock = SearchParams(q="松阳银猴茶", in_stock=True)
    assert [h.id for h in (await service.search(in_stock)).hits] == [tea]
    # when one buyer reserves the last 20 units at checkout
    first = await client.post(
        "/api/checkout", json=checkout_body((shop.tea.variant.id, 20)), headers=shop.h(shop.buyer)
    )
    assert first.status_code == 201, first.text
    # then the checkout's transaction announced the product, and applying it takes it out of in-stock results
    assert await product_events(session, tea) == ["stock_zero"]
    applied, _ = await apply_batch(service, session, after_id=0)
    assert applied == 1
    assert (await service.search(in_stock)).total == 0
    # when the buyer cancels the unpaid order, the units come back and so does the product
    cancel = await client.post(
        f"/api/orders/{first.json()['id']}/cancel", json={"reason": "买多了"}, headers=shop.h(shop.buyer)
    )
    assert cancel.status_code == 200, cancel.text
    assert await product_events(session, tea) == ["stock_zero", "restocked"]
    await apply_batch(service, session, after_id=0)
    assert [h.id for h in (await service.search(in_stock)).hits] == [tea]


async def test_a_sale_that_leaves_stock_announces_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, shop: Shop
) -> None:
    response = await client.post(
        "/api/checkout", json=checkout_body((shop.tea.variant.id, 3)), headers=shop.h(shop.buyer)
    )
    assert response.status_code == 201, response.text
    assert await product_events(session, shop.tea.product.id) == []
