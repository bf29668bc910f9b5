"""No secret or personal data in the logs: log-in, checkout with a home address, a Stripe webhook and pickup-code
attempts run with every log line captured (structlog at DEBUG, the standard library at INFO), and none of the phone
number, address, password, token, pickup code or Stripe secret appears."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.app import create_app
from shop.auth import hash_password
from shop.logging import configure_logging
from shop.settings import Settings
from tests import factories as f
from tests.logistics.helpers import build_net
from tests.logistics.test_dispatch_pickup import ship_and_deliver

PHONE = "13987654321"
STREET = "夏严村幸福路 88 号"
PASSWORD = "Sup3r-secret-pass"
STRIPE_SECRET = "sk_test_" + "S3cr3t" * 6
WEBHOOK_SECRET = "whsec_" + "W3bh00k" * 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_flows_leave_no_secret_or_personal_data_in_logs(
    settings: Settings,
    session: AsyncSession,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a hub with Stripe keys, a buyer with a known password, a product, and a parcel waiting at a point
    net = await build_net(session)
    brand = await f.brand(session, "丽水山耕")
    sugar = await f.product(session, net.workshop, brand, "青田红糖", price_fen=3800, on_hand=10)
    buyer = await f.user(session, Role.BUYER)
    buyer.password_hash = hash_password(PASSWORD)
    buyer.phone = PHONE
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    (parcel,) = await ship_and_deliver(session, net, [1])
    code = parcel.pickup_code
    assert code is not None
    settings.stripe = settings.stripe.model_copy(
        update={"secret_key": STRIPE_SECRET, "webhook_secret": WEBHOOK_SECRET, "api_base": "http://127.0.0.1:9"}
    )
    app = create_app(settings)
    configure_logging(json_logs=True, level=logging.DEBUG, cache=False)
    capfd.readouterr()  # only what the hub logs from here on counts, not the test's own setup
    caplog.clear()
    caplog.set_level(logging.INFO)
    tokens: list[str] = []
    async with AsyncTestClient(app=app) as client:
        # when: a wrong then a right log-in
        assert (
            await client.post("/api/auth/login", json={"username": buyer.username, "password": "wrong-" + PASSWORD})
        ).status_code == 401
        login = await client.post("/api/auth/login", json={"username": buyer.username, "password": PASSWORD})
        assert login.status_code == 200
        token = login.json()["access_token"]
        tokens.append(token)
        client.cookies.clear()
        auth = {"Authorization": f"Bearer {token}"}
        # a checkout to a home address, one with a bad address, and a Stripe payment whose provider is down
        home = {
            "name": "王女士",
            "phone": PHONE,
            "county": "青田县",
            "township": "仁庄镇",
            "village": "夏严村",
            "detail": STREET,
        }
        ordered = await client.post(
            "/api/checkout",
            json={
                "delivery": {"method": "home", "address": home},
                "payment_method": "stripe",
                "lines": [{"variant_id": sugar.variant.id, "quantity": 1}],
            },
            headers=auth,
        )
        await client.post(
            "/api/checkout",
            json={
                "delivery": {"method": "home", "address": {**home, "county": "不存在县"}},
                "payment_method": "offline",
                "lines": [{"variant_id": sugar.variant.id, "quantity": 1}],
            },
            headers=auth,
        )
        if ordered.status_code == 201:
            await client.post(f"/api/orders/{ordered.json()['id']}/payments/stripe", headers=auth)
        # a forged webhook
        await client.post(
            "/api/payments/stripe/webhook", content=b"{}", headers={"Stripe-Signature": "t=1,v1=deadbeef"}
        )
        # a wrong pickup code, then the right one, at the point
        admin_auth = f.auth(admin)
        wrong = "000000" if code != "000000" else "111111"
        url = f"/api/logistics/points/{net.point.id}/parcels/{parcel.id}/collect"
        await client.post(url, json={"code": wrong}, headers=admin_auth)
        collected = await client.post(url, json={"code": code}, headers=admin_auth)
        assert collected.status_code == 200, collected.text
        # a request with a bad bearer token
        await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}x"})
    await app.state.engine.dispose()
    # then no captured line carries any of them
    out, err = capfd.readouterr()
    logged = out + err + "\n".join(r.getMessage() for r in caplog.records)
    logged = re.sub(r"\d{2}:\d{2}:\d{2}[.,]\d+", "", logged)  # clock digits are not a pickup code
    assert "event" in logged  # the app did log
    for secret in (PHONE, STREET, PASSWORD, STRIPE_SECRET, WEBHOOK_SECRET, code, *tokens):
        assert secret not in logged, f"{secret!r} appears in the logs"
