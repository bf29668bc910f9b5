"""ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:56:56.116698
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ledger_entry",
        sa.Column(
            "kind",
            sa.Enum(
                "workshop_revenue",
                "service_fee",
                "streamer_commission",
                "shipping",
                name="ledgerkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("occurred_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("refund_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("workshop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("live_session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("rate_bp", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entry_kind_occurred", ["kind", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_live_session_id"), ["live_session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_order_line_id"), ["order_line_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entry_streamer_user_id"), ["streamer_user_id"], unique=False)
        batch_op.create_index("ix_ledger_entry_workshop_occurred", ["workshop_id", "occurred_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_workshop_occurred")
        batch_op.drop_index(batch_op.f("ix_ledger_entry_streamer_user_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_order_line_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_order_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entry_live_session_id"))
        batch_op.drop_index("ix_ledger_entry_kind_occurred")

    op.drop_table("ledger_entry")
