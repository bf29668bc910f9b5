"""Orders API: buyer history, staff views, status changes, cancellation, refunds, receipts."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import Caller, requires_login, requires_staff
from shop.deps import Page
from shop.orders.models import OrderStatus
from shop.orders.receipts import ReceiptService
from shop.orders.refunds import RefundService
from shop.orders.schemas import CancelIn, OrderOut, OrderPage, ReceiptOut, RefundIn, RefundOut, StatusChange
from shop.orders.services import OrderService
from shop.settings import Settings


class OrderController(Controller):
    tags = ["orders"]

    @get("/api/orders", guards=[requires_login], summary="My orders (newest first)")
    async def history(self, db_session: AsyncSession, caller: Caller, paging: Page) -> OrderPage:
        items, total = await OrderService(db_session).history(caller, paging.per_page, paging.offset)
        return OrderPage(items, total, paging.page, paging.per_page)

    @get("/api/orders/{order_id:int}", guards=[requires_login], summary="An order (the buyer's, or staff in scope)")
    async def detail(self, db_session: AsyncSession, caller: Caller, order_id: int) -> OrderOut:
        return await OrderService(db_session).get(caller, order_id)

    @get(
        "/api/orders/{order_id:int}/receipt",
        guards=[requires_login],
        summary="Receipt: what this purchase paid the workshop, the village streamer and the service centre",
    )
    async def receipt(self, db_session: AsyncSession, caller: Caller, order_id: int) -> ReceiptOut:
        return await ReceiptService(db_session).receipt(caller, order_id)

    @post(
        "/api/orders/{order_id:int}/cancel",
        guards=[requires_login],
        status_code=200,
        summary="Cancel an unpaid order (stock and voucher released)",
    )
    async def cancel(self, db_session: AsyncSession, caller: Caller, order_id: int, data: CancelIn) -> OrderOut:
        """409 naming the states when the order is no longer awaiting payment."""
        return await OrderService(db_session).cancel(caller, order_id, data.reason)

    @post(
        "/api/orders/{order_id:int}/status",
        guards=[requires_staff],
        status_code=200,
        summary="Move an order along fulfilment (packed, shipped, ready_for_pickup, collected, delivered)",
    )
    async def change_status(
        self, db_session: AsyncSession, caller: Caller, order_id: int, data: StatusChange
    ) -> OrderOut:
        """409 naming both states for an invalid transition; 403 outside your workshops."""
        return await OrderService(db_session).change_status(caller, order_id, data.status, data.note)

    @post(
        "/api/orders/{order_id:int}/refunds",
        guards=[requires_staff],
        status_code=201,
        summary="Refund the whole order, or some units of some lines",
    )
    async def refund(
        self, db_session: AsyncSession, settings: Settings, caller: Caller, order_id: int, data: RefundIn
    ) -> RefundOut:
        return await RefundService(db_session, settings).refund(caller, order_id, data)

    @get("/api/staff/orders", guards=[requires_staff], summary="Orders with lines from my workshops (admins: all)")
    async def staff_list(
        self,
        db_session: AsyncSession,
        caller: Caller,
        paging: Page,
        status: OrderStatus | None = Parameter(query="status", default=None),
        workshop_id: int | None = Parameter(query="workshop_id", default=None, ge=1),
    ) -> OrderPage:
        items, total = await OrderService(db_session).staff_list(
            caller, status=status, workshop_id=workshop_id, limit=paging.per_page, offset=paging.offset
        )
        return OrderPage(items, total, paging.page, paging.per_page)


route_handlers = [OrderController]
