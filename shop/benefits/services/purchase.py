"""Guaranteed purchase (保底收购, "合同+保护价"): contracts and deliveries.

A delivery of g grams at market price m pays round_half_up(g × max(floor, m + premium) / 1000) fen; its benefit over
market is that payment − round_half_up(g × m / 1000). Both are fixed when the delivery is recorded.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shop.audit import record
from shop.auth import Caller, ensure_workshop_scope
from shop.benefits.models import Member, PurchaseContract, PurchaseDelivery
from shop.benefits.schemas import ContractIn, ContractOut, DeliveryIn, DeliveryOut
from shop.benefits.services.members import get_or_404, require_workshop
from shop.benefits.services.months import ensure_open, month_of, today_shanghai
from shop.errors import InvalidInput
from shop.money import weight_price


def delivery_figures(
    grams: int, market_fen_per_kg: int, floor_fen_per_kg: int, premium_fen_per_kg: int
) -> tuple[int, int, int, int]:
    """(price per kg, payment, market value, benefit over market), all fen."""
    price = max(floor_fen_per_kg, market_fen_per_kg + premium_fen_per_kg)
    payment = weight_price(grams, price)
    market_value = weight_price(grams, market_fen_per_kg)
    return price, payment, market_value, payment - market_value


def contract_out(c: PurchaseContract) -> ContractOut:
    return ContractOut(
        id=c.id,
        workshop_id=c.workshop_id,
        member_id=c.member_id,
        produce=c.produce,
        floor_fen_per_kg=c.floor_fen_per_kg,
        premium_fen_per_kg=c.premium_fen_per_kg,
        valid_from=c.valid_from,
        valid_to=c.valid_to,
    )


def delivery_out(d: PurchaseDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        contract_id=d.contract_id,
        member_id=d.member_id,
        workshop_id=d.workshop_id,
        delivered_on=d.delivered_on,
        grams=d.grams,
        market_fen_per_kg=d.market_fen_per_kg,
        price_fen_per_kg=d.price_fen_per_kg,
        payment_fen=d.payment_fen,
        market_value_fen=d.market_value_fen,
        benefit_fen=d.benefit_fen,
    )


class PurchaseService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_contract(self, caller: Caller, data: ContractIn) -> ContractOut:
        await require_workshop(self.session, data.workshop_id)
        ensure_workshop_scope(caller, data.workshop_id)
        await get_or_404(self.session, Member, data.member_id, "member", "member_id")
        if data.valid_to < data.valid_from:
            raise InvalidInput("valid_to is before valid_from.", field="valid_to")
        if data.floor_fen_per_kg == 0 and data.premium_fen_per_kg == 0:
            raise InvalidInput(
                "A guaranteed purchase needs a floor price or a premium over market.", field="floor_fen_per_kg"
            )
        contract = PurchaseContract(
            workshop_id=data.workshop_id,
            member_id=data.member_id,
            produce=data.produce,
            floor_fen_per_kg=data.floor_fen_per_kg,
            premium_fen_per_kg=data.premium_fen_per_kg,
            valid_from=data.valid_from,
            valid_to=data.valid_to,
        )
        self.session.add(contract)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_purchase_contract",
            entity_id=contract.id,
            changes={"produce": data.produce, "floor": data.floor_fen_per_kg, "premium": data.premium_fen_per_kg},
        )
        await self.session.commit()
        return contract_out(contract)

    async def record_delivery(self, caller: Caller, data: DeliveryIn) -> DeliveryOut:
        contract = await get_or_404(self.session, PurchaseContract, data.contract_id, "contract", "contract_id")
        ensure_workshop_scope(caller, contract.workshop_id)
        if not contract.valid_from <= data.delivered_on <= contract.valid_to:
            raise InvalidInput(
                f"The contract is valid {contract.valid_from} to {contract.valid_to}.", field="delivered_on"
            )
        if data.delivered_on > today_shanghai():
            raise InvalidInput("The delivery date is in the future.", field="delivered_on")
        await ensure_open(self.session, month_of(data.delivered_on), "A delivery")
        price, payment, market_value, benefit = delivery_figures(
            data.grams, data.market_fen_per_kg, contract.floor_fen_per_kg, contract.premium_fen_per_kg
        )
        delivery = PurchaseDelivery(
            contract_id=contract.id,
            workshop_id=contract.workshop_id,
            member_id=contract.member_id,
            delivered_on=data.delivered_on,
            grams=data.grams,
            market_fen_per_kg=data.market_fen_per_kg,
            price_fen_per_kg=price,
            payment_fen=payment,
            market_value_fen=market_value,
            benefit_fen=benefit,
            recorded_by=caller.id,
        )
        self.session.add(delivery)
        await self.session.flush()
        record(
            self.session,
            actor_id=caller.id,
            action="create",
            entity="benefit_delivery",
            entity_id=delivery.id,
            changes={"grams": data.grams, "payment_fen": payment},
        )
        await self.session.commit()
        return delivery_out(delivery)
