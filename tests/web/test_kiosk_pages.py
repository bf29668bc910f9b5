"""The kiosk pages' handlers: only a kiosk device token in the `hub_kiosk` cookie opens them, it opens nothing
else, and the kiosk cart is handed to a phone by a QR code and forgotten when the screen resets."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from purepix import qr
from purepix.codecs import png
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role, User
from shop.auth import issue_token
from shop.cart.models import Cart, CartLine
from shop.settings import Settings
from tests import factories as f

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # page handlers: one backend suffices
TEMPLATES = Path(__file__).resolve().parents[2] / "shop" / "web" / "templates" / "kiosk"
LOCALE = Path(__file__).resolve().parents[2] / "shop" / "web" / "locale" / "en"


def device_token(user: User, settings: Settings, days: int = 365) -> str:
    return issue_token(user.id, user.role, settings.app.secret_key, dt.timedelta(days=days))


def decode_qr(body: bytes) -> str:
    return qr.decode_text(png.loads(body))


async def activated(client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings) -> User:
    kiosk = await f.user(session, Role.KIOSK)
    await session.commit()
    response = await client.get(f"/kiosk/activate?token={device_token(kiosk, settings)}", follow_redirects=False)
    assert response.status_code == 303
    return kiosk


@SQLITE
async def test_an_unactivated_screen_gets_a_plain_not_activated_page(client: AsyncTestClient[Litestar]) -> None:
    # when a screen without the device cookie opens the kiosk (as a browser would)
    response = await client.get("/kiosk", headers={"accept": "text/html"}, follow_redirects=False)
    # then it is refused with a page saying so, not sent to a log-in form nobody can fill in at a touch screen
    assert response.status_code == 401
    assert "这块屏幕还没有激活" in response.text
    assert "location" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    # and every other kiosk path is refused the same way
    for path in ("/kiosk/brands", "/kiosk/live/strip", "/kiosk/search/results?q=ht", "/kiosk/cart/qr.png"):
        assert (await client.get(path)).status_code == 401, path


@SQLITE
async def test_a_forged_or_expired_token_in_the_cookie_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    kiosk = await f.user(session, Role.KIOSK)
    await session.commit()
    expired = issue_token(kiosk.id, Role.KIOSK, settings.app.secret_key, dt.timedelta(seconds=-5))
    forged = issue_token(kiosk.id, Role.KIOSK, "another-secret-of-at-least-thirty-two-chars", dt.timedelta(days=1))
    for token in ("garbage", expired, forged):
        response = await client.get("/kiosk", cookies={"hub_kiosk": token})
        assert response.status_code == 401
        assert "设备令牌无效或已过期" in response.text


@SQLITE
async def test_a_buyers_token_in_the_kiosk_cookie_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    # given a buyer's (or an admin's) perfectly valid token put where the kiosk keeps its device token
    buyer = await f.user(session, Role.BUYER)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    for user in (buyer, admin):
        # when it opens the kiosk
        response = await client.get("/kiosk", cookies={"hub_kiosk": device_token(user, settings)})
        # then it is refused: only a kiosk account's token makes a screen a kiosk
        assert response.status_code == 403
        assert "这个令牌不属于展厅终端账号" in response.text


@SQLITE
async def test_activating_with_a_buyers_token_sets_no_cookie(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    response = await client.get(f"/kiosk/activate?token={device_token(buyer, settings)}", follow_redirects=False)
    assert response.status_code == 403
    assert "hub_kiosk" not in response.headers.get("set-cookie", "")
    assert (await client.get("/kiosk/activate")).status_code == 401  # no token at all


@SQLITE
async def test_activation_stores_the_device_token_in_a_strict_httponly_cookie_and_opens_the_kiosk(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    # given a kiosk account's device token
    kiosk = await f.user(session, Role.KIOSK)
    await session.commit()
    token = device_token(kiosk, settings)
    # when the admin opens the activation link on the screen
    response = await client.get(f"/kiosk/activate?token={token}", follow_redirects=False)
    # then the token goes into the kiosk cookie and the screen goes to the kiosk
    assert response.status_code == 303
    assert response.headers["location"] == "/kiosk"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"hub_kiosk={token};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/kiosk" in cookie
    assert re.search(r"Max-Age=3153\d{4}", cookie)  # as long as the token lives (365 days)
    # and from then on the kiosk's pages open
    for path in (
        "/kiosk",
        "/kiosk/brands",
        "/kiosk/workshops",
        "/kiosk/live",
        "/kiosk/live/strip",
        "/kiosk/live/board",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["cache-control"] == "no-store"


@SQLITE
async def test_a_disabled_kiosk_account_no_longer_opens_the_kiosk(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    kiosk = await activated(client, session, settings)
    assert (await client.get("/kiosk")).status_code == 200
    # when the centre disables the device's account
    kiosk.is_active = False
    await session.commit()
    # then its token stops working at once
    assert (await client.get("/kiosk")).status_code == 403


@SQLITE
async def test_the_kiosk_token_grants_nothing_outside_the_kiosk(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    # given an activated screen (its cookie holds a kiosk token)
    kiosk = await activated(client, session, settings)
    token = device_token(kiosk, settings)
    # when the same cookie value reaches the API
    for path in ("/api/auth/me", "/api/staff/orders"):
        response = await client.get(path, cookies={"hub_kiosk": token})
        # then the API does not know the caller
        assert response.status_code == 401, path


@SQLITE
async def test_a_product_shows_a_qr_code_that_opens_it_on_a_phone(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    # given a product and an activated screen
    catalogue = await f.small_catalogue(session)
    await activated(client, session, settings)
    product_id = catalogue.product.product.id
    # when the product's page is shown
    page = await client.get(f"/kiosk/products/{product_id}")
    # then it shows the product, its workshop and stars, and a QR code for the phone
    assert page.status_code == 200
    assert "青田红糖 古法手工" in page.text
    assert "知味红·红糖工坊" in page.text
    assert 'aria-label="4 星（满分 5 星）"' in page.text
    expected = f"{settings.app.base_url.rstrip('/')}/products/{product_id}"
    assert f'data-url="{expected}"' in page.text
    image = await client.get(f"/kiosk/products/{product_id}/qr.png")
    assert image.headers["content-type"] == "image/png"
    assert decode_qr(image.content) == expected
    # and an unknown product is a kiosk 404 page
    missing = await client.get("/kiosk/products/999999")
    assert missing.status_code == 404
    assert "找不到这个页面" in missing.text


@SQLITE
async def test_the_kiosk_cart_is_handed_to_a_phone_and_forgotten_at_reset(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    # given an activated screen showing a product
    catalogue = await f.small_catalogue(session)
    await activated(client, session, settings)
    variant_id = catalogue.product.variant.id
    product_id = catalogue.product.product.id
    assert (await client.get(f"/kiosk/products/{product_id}")).status_code == 200
    csrf = client.cookies.get("hub_csrf")
    assert csrf
    # when a form arrives without its CSRF token, nothing is added
    refused = await client.post("/kiosk/cart/lines", data={"variant_id": str(variant_id)}, follow_redirects=False)
    assert refused.status_code == 403
    assert (await session.scalar(select(CartLine.id))) is None
    await session.commit()  # end the test's read, so it sees what the app writes next
    # when the visitor adds it to the cart twice
    for _ in range(2):
        added = await client.post(
            "/kiosk/cart/lines", data={"variant_id": str(variant_id), "_csrf": csrf}, follow_redirects=False
        )
        assert added.status_code == 303
        assert added.headers["location"] == f"/kiosk/products/{product_id}?added=1"
    # then an anonymous cart holds 2 of it, and the cart page's QR code opens that cart on the phone
    cart = (await session.scalars(select(Cart))).one()
    assert cart.buyer_id is None
    lines = (await session.scalars(select(CartLine).where(CartLine.cart_id == cart.id))).all()
    assert [(ln.variant_id, ln.quantity) for ln in lines] == [(variant_id, 2)]
    await session.commit()
    page = await client.get("/kiosk/cart")
    expected = f"{settings.app.base_url.rstrip('/')}/cart?token={cart.token}"
    assert f'data-url="{expected}"' in page.text
    image = await client.get("/kiosk/cart/qr.png")
    assert image.headers["cache-control"] == "no-store"
    assert decode_qr(image.content) == expected
    # when the screen resets (idle or the button)
    reset = await client.post("/kiosk/reset", data={"_csrf": csrf}, follow_redirects=False)
    assert reset.status_code == 303
    assert reset.headers["location"] == "/kiosk"
    # then the screen has forgotten the cart: the next visitor starts empty and the old code is gone
    page = await client.get("/kiosk/cart")
    assert "购物车是空的" in page.text
    assert cart.token not in page.text
    assert (await client.get("/kiosk/cart/qr.png")).status_code == 404
    # while the visitor's phone still finds the cart by its token
    on_phone = await client.get("/api/cart", headers={"X-Cart-Token": cart.token})
    assert [ln["quantity"] for ln in on_phone.json()["lines"]] == [2]


@SQLITE
async def test_quantities_change_and_zero_removes_the_line(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    catalogue = await f.small_catalogue(session)
    await activated(client, session, settings)
    await client.get("/kiosk/cart")
    csrf = client.cookies.get("hub_csrf")
    variant_id = catalogue.product.variant.id
    await client.post("/kiosk/cart/lines", data={"variant_id": str(variant_id), "_csrf": csrf})
    line_id = await session.scalar(select(CartLine.id))
    await session.commit()
    # a quantity that is not a number is a 422 naming the field, and changes nothing
    bad = await client.post(f"/kiosk/cart/lines/{line_id}", data={"quantity": "lots", "_csrf": csrf})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["quantity"]
    assert await session.scalar(select(CartLine.quantity)) == 1
    await session.commit()
    # + then 0
    await client.post(f"/kiosk/cart/lines/{line_id}", data={"quantity": "3", "_csrf": csrf})
    assert await session.scalar(select(CartLine.quantity)) == 3
    await session.commit()
    await client.post(f"/kiosk/cart/lines/{line_id}", data={"quantity": "0", "_csrf": csrf})
    assert await session.scalar(select(CartLine.id)) is None


def test_every_kiosk_text_has_an_english_translation() -> None:
    # given the Chinese source texts of the kiosk's templates
    texts = {
        m.group(2)
        for path in TEMPLATES.glob("*.html")
        for m in re.finditer(r"""_\(\s*(["'])(.*?)\1""", path.read_text(encoding="utf-8"))
    }
    texts |= {"劳务", "保底收购", "入股分红"}  # the benefit models, translated through a variable
    english = {
        **json.loads((LOCALE / "common.json").read_text("utf-8")),
        **json.loads((LOCALE / "kiosk.json").read_text("utf-8")),
    }
    # then each has an English text
    assert sorted(t for t in texts if not english.get(t)) == []
