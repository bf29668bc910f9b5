"""scripts/backup.sh and scripts/restore.sh: a backup restored into a fresh database holds exactly the same orders,
ledger, stock and reservations, and the app runs on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shop.app import create_app
from tests.conftest import make_settings
from tests.faults.support import db_session, pg_database
from tests.pg import create_database, drop_database
from tests.shop.helpers import checkout_body, make_shop

pytestmark = pytest.mark.timeout(600)
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"

SNAPSHOT = {
    "orders": "SELECT id, buyer_id, status, payment_method, subtotal_fen, discount_fen, shipping_fen, total_fen"
    " FROM shop_order ORDER BY id",
    "order lines": "SELECT id, order_id, variant_id, quantity, net_fen FROM order_line ORDER BY id",
    "ledger sums": "SELECT kind, count(*), sum(amount_fen) FROM ledger_entry GROUP BY kind ORDER BY kind",
    "ledger": "SELECT id, order_id, order_line_id, kind, amount_fen FROM ledger_entry ORDER BY id",
    "stock": "SELECT id, variant_id, location_id, on_hand, reserved FROM stock_level ORDER BY id",
    "reservations": "SELECT id, order_line_id, stock_level_id, quantity, state FROM stock_reservation ORDER BY id",
    "users": "SELECT id, username, role, password_hash FROM user_account ORDER BY id",
    "schema version": "SELECT version_num FROM alembic_version",
}


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    out = {name: [tuple(row) for row in (await session.execute(text(sql))).all()] for name, sql in SNAPSHOT.items()}
    await session.commit()
    return out


def run(script: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
async def test_backup_then_restore_into_a_fresh_database_matches_exactly(tmp_path: Path) -> None:
    restored_name = f"hub_fault_restored_{uuid.uuid4().hex[:8]}"
    try:
        with pg_database("backup") as url:
            # given a shop with a paid order, an unpaid one (units held) and a refused one
            settings = make_settings(url, tmp_path)
            app = create_app(settings)
            async with app.state.session_factory() as session:
                shop = await make_shop(session)
            async with AsyncTestClient(app=app) as client:
                paid = await client.post(
                    "/api/checkout", json=checkout_body((shop.sugar.variant.id, 3)), headers=shop.h(shop.buyer)
                )
                assert paid.status_code == 201, paid.text
                confirmed = await client.post(
                    f"/api/orders/{paid.json()['id']}/payments/offline", headers=shop.h(shop.kiosk)
                )
                assert confirmed.status_code == 200, confirmed.text
                held = await client.post(
                    "/api/checkout",
                    json=checkout_body((shop.tea.variant.id, 2), (shop.sugar.variant.id, 1)),
                    headers=shop.h(shop.other_buyer),
                )
                assert held.status_code == 201, held.text
            await app.state.engine.dispose()
            async with db_session(url) as session:
                before = await snapshot(session)
            assert len(before["orders"]) == 2 and before["ledger"] and before["reservations"]

            # when it is backed up and the database dropped
            dump = tmp_path / "hub.dump"
            backup = run("backup.sh", url, str(dump))
            assert backup.returncode == 0, backup.stderr
            assert backup.stdout.strip() == str(dump)
            listed = sorted(p.name for p in tmp_path.iterdir())  # noqa: ASYNC240 - a local directory listing
            assert "hub.dump" in listed and "hub.dump.partial" not in listed
        # (pg_database dropped it on leaving)

        # and restored into a fresh, empty database
        restored = create_database(restored_name)
        result = run("restore.sh", restored, str(dump))
        assert result.returncode == 0, result.stderr

        # then orders, ledger, stock, reservations, accounts and the schema version match exactly
        async with db_session(restored) as session:
            assert await snapshot(session) == before

        # and the app runs on the restored database: the held order can still be paid
        app = create_app(make_settings(restored, tmp_path / "restored"))
        async with AsyncTestClient(app=app) as client:
            assert (await client.get("/health/ready")).json() == {"status": "ok"}
            pay = await client.post(f"/api/orders/{held.json()['id']}/payments/offline", headers=shop.h(shop.kiosk))
            assert pay.status_code == 200, pay.text
        await app.state.engine.dispose()

        # and restoring into a database that already has the tables is refused unless --clean, changing nothing
        again = run("restore.sh", restored, str(dump))
        assert again.returncode != 0
        async with db_session(restored) as session:
            orders = (await session.execute(text("SELECT count(*) FROM shop_order WHERE status = 'paid'"))).scalar()
            await session.commit()
        assert orders == 2
        cleaned = run("restore.sh", restored, str(dump), "--clean")
        assert cleaned.returncode == 0, cleaned.stderr
        async with db_session(restored) as session:
            assert await snapshot(session) == before
    finally:
        drop_database(restored_name)


def test_backup_refuses_a_non_postgresql_url(tmp_path: Path) -> None:
    result = run("backup.sh", "sqlite+aiosqlite:///var/hub.sqlite3", str(tmp_path / "x.dump"))
    assert result.returncode == 2
    assert "not PostgreSQL" in result.stderr
    assert not (tmp_path / "x.dump").exists()
