"""shop orders carts payments

Revision ID: 0100
Revises: 0300
Create Date: 2026-11-23 17:00:48.189800
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0100"
down_revision: str | Sequence[str] | None = "0300"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "idempotency_record",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotency_record_scope_key")),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_record_created_at"), ["created_at"], unique=False)

    op.create_table(
        "processed_stripe_event",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("processed_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_processed_stripe_event")),
    )
    op.create_table(
        "voucher",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "kind", sa.Enum("fixed", "percent", name="voucherkind", native_enum=False, length=16), nullable=False
        ),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=False),
        sa.Column("min_spend_fen", sa.Integer(), nullable=False),
        sa.Column("per_buyer_limit", sa.Integer(), nullable=False),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("valid_from", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("valid_until", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "usage_limit IS NULL OR used_count <= usage_limit", name=op.f("ck_voucher_usage_within_limit")
        ),
        sa.CheckConstraint("used_count >= 0", name=op.f("ck_voucher_used_nonneg")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher")),
        sa.UniqueConstraint("code", name=op.f("uq_voucher_code")),
    )
    op.create_table(
        "cart",
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["user_account.id"], name=op.f("fk_cart_buyer_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart")),
        sa.UniqueConstraint("buyer_id", name=op.f("uq_cart_buyer_id")),
        sa.UniqueConstraint("token", name=op.f("uq_cart_token")),
    )
    op.create_table(
        "shop_order",
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending_payment",
                "paid",
                "packed",
                "shipped",
                "ready_for_pickup",
                "collected",
                "delivered",
                "cancelled",
                "partially_refunded",
                "refunded",
                name="orderstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "fulfilment_status",
            sa.Enum(
                "pending_payment",
                "paid",
                "packed",
                "shipped",
                "ready_for_pickup",
                "collected",
                "delivered",
                "cancelled",
                "partially_refunded",
                "refunded",
                name="orderstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "payment_method",
            sa.Enum("offline", "stripe", name="paymentmethod", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "delivery_method",
            sa.Enum("pickup", "home", name="deliverymethod", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("pickup_point_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "address", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("ready_date", sa.Date(), nullable=True),
        sa.Column("subtotal_fen", sa.Integer(), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("shipping_fen", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reserved_until", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=64), nullable=True),
        sa.Column("paid_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("paid_confirmed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cancelled_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "total_fen = subtotal_fen - discount_fen + shipping_fen", name=op.f("ck_shop_order_total_adds_up")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["user_account.id"], name=op.f("fk_shop_order_buyer_id_user_account"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["voucher.id"], name=op.f("fk_shop_order_voucher_id_voucher"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_order")),
        sa.UniqueConstraint("stripe_payment_intent_id", name=op.f("uq_shop_order_stripe_payment_intent_id")),
    )
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_order_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shop_order_status"), ["status"], unique=False)
        batch_op.create_index("ix_shop_order_status_reserved_until", ["status", "reserved_until"], unique=False)

    op.create_table(
        "refund",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("shipping_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_refund_order_id_shop_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund")),
    )
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_order_id"), ["order_id"], unique=False)

    op.create_table(
        "voucher_redemption",
        sa.Column("voucher_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["user_account.id"],
            name=op.f("fk_voucher_redemption_buyer_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_voucher_redemption_order_id_shop_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"], ["voucher.id"], name=op.f("fk_voucher_redemption_voucher_id_voucher"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_redemption")),
        sa.UniqueConstraint("order_id", name=op.f("uq_voucher_redemption_order_id")),
    )
    with op.batch_alter_table("voucher_redemption", schema=None) as batch_op:
        batch_op.create_index(
            "ix_voucher_redemption_voucher_buyer", ["voucher_id", "buyer_id", "released"], unique=False
        )

    op.create_table(
        "cart_line",
        sa.Column("cart_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.Column("live_session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("commission_bp", sa.Integer(), nullable=True),
        sa.Column("added_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_line_quantity_positive")),
        sa.ForeignKeyConstraint(["cart_id"], ["cart.id"], name=op.f("fk_cart_line_cart_id_cart"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variant.id"],
            name=op.f("fk_cart_line_variant_id_product_variant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_line")),
        sa.UniqueConstraint("cart_id", "variant_id", name=op.f("uq_cart_line_cart_id_variant_id")),
    )
    with op.batch_alter_table("cart_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cart_line_cart_id"), ["cart_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cart_line_variant_id"), ["variant_id"], unique=False)

    op.create_table(
        "order_line",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workshop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=240), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.Column("gross_fen", sa.Integer(), nullable=False),
        sa.Column("discount_fen", sa.Integer(), nullable=False),
        sa.Column("net_fen", sa.Integer(), nullable=False),
        sa.Column("service_fee_bp", sa.Integer(), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=True),
        sa.Column("live_session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refunded_quantity", sa.Integer(), nullable=False),
        sa.Column("refunded_fen", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.CheckConstraint("net_fen = gross_fen - discount_fen", name=op.f("ck_order_line_net_adds_up")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_quantity_positive")),
        sa.CheckConstraint(
            "refunded_quantity >= 0 AND refunded_quantity <= quantity", name=op.f("ck_order_line_refunded_range")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_order_line_order_id_shop_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["product_variant.id"],
            name=op.f("fk_order_line_variant_id_product_variant"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workshop_id"], ["workshop.id"], name=op.f("fk_order_line_workshop_id_workshop"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_live_session_id"), ["live_session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_line_variant_id"), ["variant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_line_workshop_id"), ["workshop_id"], unique=False)

    op.create_table(
        "refund_line",
        sa.Column("refund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_refund_line_order_line_id_order_line"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"], ["refund.id"], name=op.f("fk_refund_line_refund_id_refund"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_line")),
    )
    with op.batch_alter_table("refund_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_line_order_line_id"), ["order_line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refund_line_refund_id"), ["refund_id"], unique=False)

    op.create_table(
        "stock_reservation",
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stock_level_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("variant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("active", "committed", "released", name="reservationstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_reservation_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_stock_reservation_order_id_shop_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_stock_reservation_order_line_id_order_line"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stock_level_id"],
            ["stock_level.id"],
            name=op.f("fk_stock_reservation_stock_level_id_stock_level"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservation")),
    )
    with op.batch_alter_table("stock_reservation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_reservation_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_stock_reservation_state_expires", ["state", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_reservation_stock_level_id"), ["stock_level_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("stock_reservation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_reservation_stock_level_id"))
        batch_op.drop_index("ix_stock_reservation_state_expires")
        batch_op.drop_index(batch_op.f("ix_stock_reservation_order_id"))

    op.drop_table("stock_reservation")
    with op.batch_alter_table("refund_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_line_refund_id"))
        batch_op.drop_index(batch_op.f("ix_refund_line_order_line_id"))

    op.drop_table("refund_line")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_workshop_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_variant_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_live_session_id"))

    op.drop_table("order_line")
    with op.batch_alter_table("cart_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cart_line_variant_id"))
        batch_op.drop_index(batch_op.f("ix_cart_line_cart_id"))

    op.drop_table("cart_line")
    with op.batch_alter_table("voucher_redemption", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_redemption_voucher_buyer")

    op.drop_table("voucher_redemption")
    with op.batch_alter_table("refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_order_id"))

    op.drop_table("refund")
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_order_status_reserved_until")
        batch_op.drop_index(batch_op.f("ix_shop_order_status"))
        batch_op.drop_index(batch_op.f("ix_shop_order_buyer_id"))

    op.drop_table("shop_order")
    op.drop_table("cart")
    op.drop_table("voucher")
    op.drop_table("processed_stripe_event")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
