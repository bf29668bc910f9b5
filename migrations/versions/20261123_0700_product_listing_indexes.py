"""product listing indexes (商品列表: newest and best-selling pages read in index order)

Revision ID: 0700
Revises: 0600
Create Date: 2026-11-23 23:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0700"
down_revision: str | Sequence[str] | None = "0600"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_product_listing_newest", "product", ["status", "created_at", "id"])
    op.create_index("ix_product_listing_sales", "product", ["status", "sales_count", "id"])


def downgrade() -> None:
    op.drop_index("ix_product_listing_sales", table_name="product")
    op.drop_index("ix_product_listing_newest", table_name="product")
