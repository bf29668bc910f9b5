"""livestream

Revision ID: 0200
Revises: 0002
Create Date: 2026-11-23 17:00:09.017354
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0200"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "live_streamer_agreement",
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commission_bp BETWEEN 0 AND 10000", name=op.f("ck_live_streamer_agreement_commission_range")
        ),
        sa.ForeignKeyConstraint(
            ["streamer_user_id"],
            ["user_account.id"],
            name=op.f("fk_live_streamer_agreement_streamer_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_streamer_agreement")),
        sa.UniqueConstraint(
            "streamer_user_id", "valid_from", name=op.f("uq_live_streamer_agreement_streamer_user_id_valid_from")
        ),
    )
    with op.batch_alter_table("live_streamer_agreement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_live_streamer_agreement_streamer_user_id"), ["streamer_user_id"], unique=False
        )

    op.create_table(
        "live_studio",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("village_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "opening_hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("turnover_gap_minutes", sa.Integer(), nullable=False),
        sa.Column("equipment_notes", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("turnover_gap_minutes BETWEEN 0 AND 240", name=op.f("ck_live_studio_gap_range")),
        sa.ForeignKeyConstraint(
            ["village_id"], ["region.id"], name=op.f("fk_live_studio_village_id_region"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_studio")),
        sa.UniqueConstraint("name", name=op.f("uq_live_studio_name")),
    )
    op.create_table(
        "live_session_series",
        sa.Column("studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("local_start", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("weeks", sa.SmallInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_live_session_series_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["streamer_user_id"],
            ["user_account.id"],
            name=op.f("fk_live_session_series_streamer_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"],
            ["live_studio.id"],
            name=op.f("fk_live_session_series_studio_id_live_studio"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_session_series")),
    )
    with op.batch_alter_table("live_session_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_session_series_streamer_user_id"), ["streamer_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_session_series_studio_id"), ["studio_id"], unique=False)

    op.create_table(
        "live_studio_closure",
        sa.Column("studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["studio_id"],
            ["live_studio.id"],
            name=op.f("fk_live_studio_closure_studio_id_live_studio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_studio_closure")),
        sa.UniqueConstraint("studio_id", "day", name=op.f("uq_live_studio_closure_studio_id_day")),
    )
    with op.batch_alter_table("live_studio_closure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_studio_closure_studio_id"), ["studio_id"], unique=False)

    op.create_table(
        "live_session",
        sa.Column("studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("streamer_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("series_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cover_image_url", sa.String(length=300), nullable=False),
        sa.Column("starts_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("ends_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("block_until", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("scheduled", "live", "ended", "cancelled", name="sessionstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("attribution_window_minutes", sa.Integer(), nullable=False),
        sa.Column("share_code", sa.String(length=16), nullable=False),
        sa.Column("went_live_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ended_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("cancelled_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=False),
        sa.Column("pinned_product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("peak_viewers", sa.Integer(), nullable=False),
        sa.Column("total_viewers", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("created_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("attribution_window_minutes BETWEEN 0 AND 43200", name=op.f("ck_live_session_window_range")),
        sa.CheckConstraint("commission_bp BETWEEN 0 AND 10000", name=op.f("ck_live_session_commission_range")),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_live_session_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_live_session_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pinned_product_id"],
            ["product.id"],
            name=op.f("fk_live_session_pinned_product_id_product"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["live_session_series.id"],
            name=op.f("fk_live_session_series_id_live_session_series"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["streamer_user_id"],
            ["user_account.id"],
            name=op.f("fk_live_session_streamer_user_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["live_studio.id"], name=op.f("fk_live_session_studio_id_live_studio"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_session")),
        sa.UniqueConstraint("share_code", name=op.f("uq_live_session_share_code")),
    )
    with op.batch_alter_table("live_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_session_series_id"), ["series_id"], unique=False)
        batch_op.create_index("ix_live_session_status_start", ["status", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_live_session_streamer_time", ["streamer_user_id", "starts_at", "ends_at"], unique=False
        )
        batch_op.create_index("ix_live_session_studio_time", ["studio_id", "starts_at", "block_until"], unique=False)

    op.create_table(
        "live_lineup_item",
        sa.Column("session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_live_lineup_item_product_id_product"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_session.id"],
            name=op.f("fk_live_lineup_item_session_id_live_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_lineup_item")),
        sa.UniqueConstraint("session_id", "product_id", name=op.f("uq_live_lineup_item_session_id_product_id")),
    )
    with op.batch_alter_table("live_lineup_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_lineup_item_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_lineup_item_session_id"), ["session_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("live_lineup_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_lineup_item_session_id"))
        batch_op.drop_index(batch_op.f("ix_live_lineup_item_product_id"))

    op.drop_table("live_lineup_item")
    with op.batch_alter_table("live_session", schema=None) as batch_op:
        batch_op.drop_index("ix_live_session_studio_time")
        batch_op.drop_index("ix_live_session_streamer_time")
        batch_op.drop_index("ix_live_session_status_start")
        batch_op.drop_index(batch_op.f("ix_live_session_series_id"))

    op.drop_table("live_session")
    with op.batch_alter_table("live_studio_closure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_studio_closure_studio_id"))

    op.drop_table("live_studio_closure")
    with op.batch_alter_table("live_session_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_session_series_studio_id"))
        batch_op.drop_index(batch_op.f("ix_live_session_series_streamer_user_id"))

    op.drop_table("live_session_series")
    op.drop_table("live_studio")
    with op.batch_alter_table("live_streamer_agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_streamer_agreement_streamer_user_id"))

    op.drop_table("live_streamer_agreement")
