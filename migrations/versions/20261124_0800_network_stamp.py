"""logistics network stamp (物流网络版本: processes keep a copy of the network until it changes)

Revision ID: 0800
Revises: 0700
Create Date: 2026-11-24 01:30:00.000000
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0800"
down_revision: str | Sequence[str] | None = "0700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "logistics_network_stamp",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logistics_network_stamp")),
    )
    op.bulk_insert(table, [{"id": 1, "stamp": secrets.randbits(62)}])


def downgrade() -> None:
    op.drop_table("logistics_network_stamp")
