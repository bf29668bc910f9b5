"""Vouchers API (service-centre admins)."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import Caller, requires_admin
from shop.vouchers.schemas import VoucherCreate, VoucherOut
from shop.vouchers.services import VoucherService


class VoucherController(Controller):
    path = "/api/vouchers"
    tags = ["vouchers"]

    @post("", guards=[requires_admin], summary="Create a voucher (fixed or percent, min spend, limits, window)")
    async def create(self, db_session: AsyncSession, caller: Caller, data: VoucherCreate) -> VoucherOut:
        return await VoucherService(db_session).create(caller, data)

    @get("", guards=[requires_admin], summary="All vouchers with their use counts")
    async def list(self, db_session: AsyncSession) -> list[VoucherOut]:
        return await VoucherService(db_session).list()


route_handlers = [VoucherController]
