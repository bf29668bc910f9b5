"""Carts: anonymous (by token) or the buyer's own; an anonymous cart merges into the buyer's at login."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import Product, ProductStatus, ProductVariant, StockLevel
from shop.auth import Caller
from shop.cart import attribution
from shop.cart.models import Cart, CartLine
from shop.cart.schemas import CartLineIn, CartLineOut, CartLineUpdate, CartOut
from shop.db import utcnow
from shop.errors import InvalidInput, NotFound

MAX_LINE_QUANTITY = 999
MAX_LINES = 50


class CartService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- finding the cart ------------------------------------------------------------------------------------
    async def _by_token(self, token: str | None) -> Cart | None:
        if not token:
            return None
        return await self.session.scalar(select(Cart).where(Cart.token == token[:64], Cart.buyer_id.is_(None)))

    async def _by_buyer(self, buyer_id: int) -> Cart | None:
        return await self.session.scalar(select(Cart).where(Cart.buyer_id == buyer_id))

    async def resolve(self, caller: Caller | None, token: str | None, *, create: bool) -> Cart | None:
        """The caller's cart (merging an anonymous one given by token), the anonymous cart, or a new one."""
        if caller is not None:
            cart = await self._by_buyer(caller.id)
            anonymous = await self._by_token(token)
            if cart is None and (create or anonymous is not None):
                cart = Cart(buyer_id=caller.id, lines=[])
                self.session.add(cart)
                await self.session.flush()
            if cart is not None and anonymous is not None:
                await self._merge_into(cart, anonymous)
            return cart
        cart = await self._by_token(token)
        if cart is None and create:
            cart = Cart(token=secrets.token_urlsafe(24), lines=[])
            self.session.add(cart)
            await self.session.flush()
        return cart

    async def _merge_into(self, cart: Cart, anonymous: Cart) -> None:
        by_variant = {line.variant_id: line for line in cart.lines}
        for line in anonymous.lines:
            mine = by_variant.get(line.variant_id)
            if mine is None:
                cart.lines.append(
                    CartLine(
                        variant_id=line.variant_id,
                        quantity=line.quantity,
                        unit_price_fen=line.unit_price_fen,
                        live_session_id=line.live_session_id,
                        streamer_user_id=line.streamer_user_id,
                        commission_bp=line.commission_bp,
                        added_at=line.added_at,
                    )
                )
                continue
            mine.quantity = min(MAX_LINE_QUANTITY, mine.quantity + line.quantity)
            if line.added_at >= mine.added_at and line.live_session_id is not None:  # last touch wins
                mine.live_session_id, mine.streamer_user_id = line.live_session_id, line.streamer_user_id
                mine.commission_bp, mine.added_at = line.commission_bp, line.added_at
        await self.session.delete(anonymous)
        await self.session.flush()

    # ---- use cases --------------------------------------------------------------------------------------------
    async def view(self, caller: Caller | None, token: str | None) -> CartOut:
        cart = await self.resolve(caller, token, create=False)
        await self.session.commit()
        return await self._out(cart)

    async def merge(self, caller: Caller, token: str | None) -> CartOut:
        if not token:
            raise InvalidInput("Send the anonymous cart's token in X-Cart-Token.", field="X-Cart-Token")
        cart = await self.resolve(caller, token, create=True)
        await self.session.commit()
        return await self._out(cart)

    async def add(self, caller: Caller | None, token: str | None, data: CartLineIn) -> CartOut:
        variant = await self._sellable_variant(data.variant_id)
        cart = await self.resolve(caller, token, create=True)
        assert cart is not None
        touch = await attribution.resolve(data.share_code, utcnow())
        line = next((ln for ln in cart.lines if ln.variant_id == variant.id), None)
        if line is None:
            if len(cart.lines) >= MAX_LINES:
                raise InvalidInput(f"A cart holds at most {MAX_LINES} lines.", field="variant_id")
            line = CartLine(variant_id=variant.id, quantity=0, unit_price_fen=variant.price_fen)
            cart.lines.append(line)
        line.quantity = min(MAX_LINE_QUANTITY, line.quantity + data.quantity)
        line.unit_price_fen = variant.price_fen
        line.added_at = utcnow()
        if touch is not None:
            line.live_session_id, line.streamer_user_id = touch.live_session_id, touch.streamer_user_id
            line.commission_bp = touch.commission_bp
        await self.session.commit()
        return await self._out(cart)

    async def update_line(
        self, caller: Caller | None, token: str | None, line_id: int, data: CartLineUpdate
    ) -> CartOut:
        cart, line = await self._line(caller, token, line_id)
        line.quantity = data.quantity
        await self.session.commit()
        return await self._out(cart)

    async def remove_line(self, caller: Caller | None, token: str | None, line_id: int) -> CartOut:
        cart, line = await self._line(caller, token, line_id)
        cart.lines.remove(line)
        await self.session.commit()
        return await self._out(cart)

    async def clear(self, cart_id: int) -> None:
        """Empty a cart inside the caller's transaction (after its lines became an order)."""
        await self.session.execute(delete(CartLine).where(CartLine.cart_id == cart_id))

    # ---- helpers ---------------------------------------------------------------------------------------------
    async def _line(self, caller: Caller | None, token: str | None, line_id: int) -> tuple[Cart, CartLine]:
        cart = await self.resolve(caller, token, create=False)
        line = next((ln for ln in cart.lines if ln.id == line_id), None) if cart else None
        if cart is None or line is None:
            raise NotFound(f"No line {line_id} in your cart.", field="line_id")
        return cart, line

    async def _sellable_variant(self, variant_id: int) -> ProductVariant:
        row = (
            await self.session.execute(
                select(ProductVariant, Product.status)
                .join(Product, Product.id == ProductVariant.product_id)
                .where(ProductVariant.id == variant_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"No product variant {variant_id}.", field="variant_id")
        variant, status = row
        if status is not ProductStatus.ACTIVE or not variant.is_active:
            raise InvalidInput(f"Variant {variant_id} is not on sale.", field="variant_id")
        return variant

    async def _out(self, cart: Cart | None) -> CartOut:
        if cart is None:
            return CartOut(None, None, [], 0, 0)
        await self.session.refresh(cart, ["lines"])
        variant_ids = [line.variant_id for line in cart.lines]
        info: dict[int, tuple[int, str, str, int]] = {}
        available: dict[int, int] = {}
        if variant_ids:
            rows = (
                await self.session.execute(
                    select(
                        ProductVariant.id,
                        ProductVariant.product_id,
                        Product.title,
                        ProductVariant.name,
                        ProductVariant.price_fen,
                    )
                    .join(Product, Product.id == ProductVariant.product_id)
                    .where(ProductVariant.id.in_(variant_ids))
                )
            ).all()
            info = {r.id: (r.product_id, r.title, r.name, r.price_fen) for r in rows}
            stock = (
                await self.session.execute(
                    select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
                    .where(StockLevel.variant_id.in_(variant_ids))
                    .group_by(StockLevel.variant_id)
                )
            ).all()
            available = {variant: int(units or 0) for variant, units in stock}
        lines = []
        for line in cart.lines:
            product_id, title, name, price = info.get(line.variant_id, (0, "", "", line.unit_price_fen))
            lines.append(
                CartLineOut(
                    line.id,
                    line.variant_id,
                    product_id,
                    title,
                    name,
                    line.quantity,
                    line.unit_price_fen,
                    price,
                    price * line.quantity,
                    available.get(line.variant_id, 0),
                    line.live_session_id,
                )
            )
        return CartOut(cart.id, cart.token, lines, sum(x.line_total_fen for x in lines), sum(x.quantity for x in lines))
