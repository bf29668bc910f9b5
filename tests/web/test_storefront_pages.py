"""Storefront page handlers without a browser: status codes, login redirects, CSRF in forms, the English switch,
the anonymous cart cookie (and the kiosk's cart token), the merge at log-in, and a checkout that a double submit
cannot turn into two orders."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from logistics.models import LogisticsNode, NodeKind
from logistics.schemas import DepartureIn, NodeCreate, RouteCreate
from logistics.services import NetworkService
from shop.accounts.models import Role
from shop.auth import Caller
from shop.orders.models import Order
from shop.web.i18n import LOCALE_DIR
from tests.factories import PASSWORD
from tests.shop.helpers import Shop, make_shop

TEMPLATES = Path(__file__).resolve().parents[2] / "shop" / "web" / "templates" / "storefront"
PAGE = {"accept": "text/html"}
EVERY_DAY = [DepartureIn(weekday=d, time=t) for d in range(7) for t in ("09:00", "15:00")]


@dataclass
class World:
    shop: Shop
    point: LogisticsNode


async def given_a_shop_with_a_pickup_point(session: AsyncSession) -> World:
    """The small shop, and a hub → station → village point network in its county with daily runs."""
    shop = await make_shop(session)
    cat = shop.cat
    admin = Caller(shop.admin.id, shop.admin.username, Role.CENTRE_ADMIN, "管理员")
    net = NetworkService(session)
    hub = await net.create_node(
        admin, NodeCreate(kind=NodeKind.HUB, code="HUB-T", name="县物流中心", region_id=cat.county.id)
    )
    station = await net.create_node(
        admin,
        NodeCreate(kind=NodeKind.STATION, code="STN-T", name="乡服务站", region_id=cat.township.id, parent_id=hub.id),
    )
    point = await net.create_node(
        admin,
        NodeCreate(
            kind=NodeKind.POINT,
            code="PT-T",
            name="上坪村村级服务点",
            region_id=cat.village.id,
            parent_id=station.id,
            opening_hours="每天 08:00–20:00",
            capacity=50,
        ),
    )
    await net.create_route(
        admin, RouteCreate(origin_id=hub.id, destination_id=station.id, transit_minutes=60, departures=EVERY_DAY)
    )
    await net.create_route(
        admin, RouteCreate(origin_id=station.id, destination_id=point.id, transit_minutes=45, departures=EVERY_DAY)
    )
    return World(shop, point)


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def page_login(client: AsyncTestClient[Litestar], username: str, csrf: str) -> None:
    response = await client.post(
        "/login",
        data={"_csrf": csrf, "username": username, "password": PASSWORD, "next": "/"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


async def order_count(session: AsyncSession) -> int:
    await session.rollback()
    return int(await session.scalar(select(func.count()).select_from(Order)) or 0)


async def test_browsing_pages_answer_and_an_unknown_product_is_a_404_page(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given the small shop (family 丽水山坊, workshop 知味红·红糖工坊, product 青田红糖) indexed for search
    shop = await make_shop(session)
    await app.state.search.reindex(session)
    await session.commit()
    sugar = shop.sugar.product
    # when a buyer opens the home page, then it shows the family, the product and the search box
    home = await client.get("/", headers=PAGE)
    assert home.status_code == 200
    assert "丽水山坊" in home.text and f'href="/products/{sugar.id}"' in home.text
    assert 'hx-get="/search/suggest"' in home.text
    # the search page lists it with its facets; pinyin finds it through the suggestion fragment
    found = await client.get("/search", params={"q": "红糖"}, headers=PAGE)
    assert found.status_code == 200
    assert f'href="/products/{sugar.id}"' in found.text and "共找到 1 件商品" in found.text
    assert 'name="family"' in found.text and "品牌家族" in found.text
    suggested = await client.get("/search/suggest", params={"q": "hongtang"}, headers={"hx-request": "true"})
    assert suggested.status_code == 200
    assert f'href="/products/{sugar.id}"' in suggested.text
    # the product page: variant with price, add-to-cart form, red stewards, ratings and where the money goes
    product = await client.get(f"/products/{sugar.id}", headers=PAGE)
    assert product.status_code == 200
    assert f'name="variant_id" value="{shop.sugar.variant.id}"' in product.text and "¥38.00" in product.text
    assert "红色管家" in product.text and "王红" in product.text and "半年度星级评定" in product.text
    # the workshop's default fee is 5%: ¥1.90 of ¥38.00 to the service centre, ¥36.10 to the workshop
    assert "钱去了哪里" in product.text and "¥1.90" in product.text and "¥36.10" in product.text
    assert "劳务（务工收入）" in product.text
    workshop = await client.get(f"/workshops/{shop.cat.workshop.id}", headers=PAGE)
    assert workshop.status_code == 200 and "知味红·红糖工坊" in workshop.text
    # an unknown product or workshop is a readable 404 page
    missing = await client.get("/products/999999", headers=PAGE)
    assert missing.status_code == 404 and "找不到这个页面" in missing.text
    assert (await client.get("/workshops/999999", headers=PAGE)).status_code == 404


async def test_the_english_switch_translates_storefront_pages(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    shop = await make_shop(session)
    response = await client.get(f"/products/{shop.sugar.product.id}", params={"lang": "en"}, headers=PAGE)
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert (
        "Add to cart" in response.text and "Where the money goes" in response.text and "Red stewards" in response.text
    )
    assert "hub_lang=en" in response.headers.get("set-cookie", "")
    # the cookie keeps English on the next page
    cart = await client.get("/cart", headers=PAGE)
    assert "Your cart is empty." in cart.text


def test_every_storefront_text_has_an_english_translation() -> None:
    catalogue = json.loads((LOCALE_DIR / "en" / "storefront.json").read_text(encoding="utf-8"))
    common = json.loads((LOCALE_DIR / "en" / "common.json").read_text(encoding="utf-8"))
    assert not set(catalogue) & set(common), "a string is in two catalogues"
    missing = []
    for template in sorted(TEMPLATES.glob("*.html")):
        for match in re.finditer(r'_\(\s*"([^"]+)"|_\(\s*\'([^\']+)\'', template.read_text(encoding="utf-8")):
            text = match.group(1) or match.group(2)
            if text not in catalogue and text not in common:
                missing.append(f"{template.name}: {text}")
    assert missing == []


async def test_checkout_and_orders_send_a_visitor_to_log_in_first(client: AsyncTestClient[Litestar]) -> None:
    for path, target in (
        ("/checkout?village=3", "/login?next=%2Fcheckout%3Fvillage%3D3"),
        ("/orders", "/login?next=%2Forders"),
        ("/orders/1", "/login?next=%2Forders%2F1"),
    ):
        response = await client.get(path, headers=PAGE, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, target)


async def test_forms_carry_the_csrf_token_and_a_write_without_it_is_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    shop = await make_shop(session)
    page = await client.get(f"/products/{shop.sugar.product.id}", headers=PAGE)
    token = csrf_of(page.text)
    assert client.cookies.get("hub_csrf") == token
    # given an anonymous cart (the hub_cart cookie is a credential)
    added = await client.post(
        "/cart/lines",
        data={"_csrf": token, "variant_id": str(shop.sugar.variant.id), "quantity": "2"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == "/cart"
    assert client.cookies.get("hub_cart")
    # when a form comes without the token, then it is refused and the cart is unchanged
    forged = await client.post("/cart/lines", data={"variant_id": str(shop.sugar.variant.id), "quantity": "5"})
    assert forged.status_code == 403
    cart = await client.get("/cart", headers=PAGE)
    assert 'value="2"' in cart.text and csrf_of(cart.text) == token


async def test_the_kiosk_cart_token_is_adopted_by_the_phone_and_a_bad_one_is_refused(
    app: Litestar, session: AsyncSession
) -> None:
    shop = await make_shop(session)
    # given a cart made on the kiosk through the API (anonymous: a token)
    async with AsyncTestClient(app=app) as kiosk:
        made = await kiosk.post("/api/cart/lines", json={"variant_id": shop.sugar.variant.id, "quantity": 3})
        assert made.status_code == 201
        token = made.json()["token"]
    async with AsyncTestClient(app=app) as phone:
        # when the phone opens the QR link, then the token becomes its cookie and the URL is clean
        adopted = await phone.get(f"/cart?token={token}", headers=PAGE, follow_redirects=False)
        assert (adopted.status_code, adopted.headers["location"]) == (303, "/cart")
        assert phone.cookies.get("hub_cart") == token
        cart = await phone.get("/cart", headers=PAGE)
        assert "青田红糖 古法手工" in cart.text and 'value="3"' in cart.text
        # a token that is not one the cart service makes is refused, and the cookie stays as it was
        bad = await phone.get("/cart?token=<script>", headers=PAGE, follow_redirects=False)
        assert bad.status_code == 400 and "二维码无效" in bad.text
        assert phone.cookies.get("hub_cart") == token


async def test_logging_in_merges_the_anonymous_cart_into_the_buyers(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    shop = await make_shop(session)
    page = await client.get("/", headers=PAGE)
    token = csrf_of(page.text)
    await client.post(
        "/cart/lines", data={"_csrf": token, "variant_id": str(shop.tea.variant.id), "quantity": "4"}, headers=PAGE
    )
    # when the buyer logs in on the page
    response = await client.post(
        "/login",
        data={"_csrf": token, "username": shop.buyer.username, "password": PASSWORD, "next": "/cart"},
        follow_redirects=False,
    )
    # then the anonymous cart's cookie is dropped and its lines are in the buyer's own cart
    assert response.status_code == 303
    assert 'hub_cart=""' in response.headers.get("set-cookie", "") or "hub_cart=;" in response.headers.get(
        "set-cookie", ""
    )
    mine = await client.get("/api/cart", headers=shop.h(shop.buyer))
    assert [(ln["variant_id"], ln["quantity"]) for ln in mine.json()["lines"]] == [(shop.tea.variant.id, 4)]


async def test_checkout_offers_the_village_point_and_a_double_submit_makes_one_order(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    world = await given_a_shop_with_a_pickup_point(session)
    shop = world.shop
    village_id, point_id = shop.cat.village.id, world.point.id
    token = csrf_of((await client.get("/", headers=PAGE)).text)
    await page_login(client, shop.buyer.username, token)
    await client.post(
        "/cart/lines", data={"_csrf": token, "variant_id": str(shop.sugar.variant.id), "quantity": "2"}, headers=PAGE
    )
    # when the buyer opens checkout for their village
    form = await client.get("/checkout", params={"village": shop.cat.village.id}, headers=PAGE)
    assert form.status_code == 200
    assert "上坪村村级服务点" in form.text and f'name="point" value="{world.point.id}"' in form.text
    assert 'id="grand-total">¥76.00<' in form.text
    idem = re.search(r'name="idem" value="([^"]+)"', form.text)
    assert idem and csrf_of(form.text) == token
    # placing without a pickup point is refused and makes no order
    body = {"_csrf": token, "idem": idem.group(1), "method": "pickup", "payment": "offline", "action": "place"}
    refused = await client.post("/checkout", data=body, headers=PAGE)
    assert refused.status_code == 422 and "请选择自提点。" in refused.text
    assert await order_count(session) == 0
    # when the same form is submitted twice, then both answers lead to the one order
    body |= {"village": str(village_id), "point": str(point_id)}
    first = await client.post("/checkout", data=body, headers=PAGE, follow_redirects=False)
    second = await client.post("/checkout", data=body, headers=PAGE, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await order_count(session) == 1
    order_page = await client.get(first.headers["location"], headers=PAGE)
    assert order_page.status_code == 200
    assert "待付款" in order_page.text and "上坪村村级服务点" in order_page.text and "¥76.00" in order_page.text
    orders = await client.get("/orders", headers=PAGE)
    assert orders.status_code == 200 and first.headers["location"].split("?")[0] in orders.text


async def test_another_buyers_order_page_is_a_404(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    shop = await make_shop(session)
    placed = await client.post(
        "/api/checkout",
        json={"delivery": {"method": "pickup", "pickup_point_id": 1}, "lines": [{"variant_id": shop.tea.variant.id}]},
        headers=shop.h(shop.buyer),
    )
    assert placed.status_code == 201, placed.text
    token = csrf_of((await client.get("/", headers=PAGE)).text)
    await page_login(client, shop.other_buyer.username, token)
    response = await client.get(f"/orders/{placed.json()['id']}", headers=PAGE)
    assert response.status_code == 404


async def test_without_stripe_only_the_offline_payment_is_offered(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a hub without a Stripe account and a buyer with something in the cart
    world = await given_a_shop_with_a_pickup_point(session)
    shop = world.shop
    token = csrf_of((await client.get("/", headers=PAGE)).text)
    await page_login(client, shop.buyer.username, token)
    await client.post("/cart/lines", data={"_csrf": token, "variant_id": str(shop.tea.variant.id)}, headers=PAGE)
    # then checkout offers the offline payment only, and the online-payment page does not exist
    form = await client.get("/checkout", headers=PAGE)
    assert 'id="pay-offline"' in form.text and 'id="pay-stripe"' not in form.text
    paid = await client.post("/orders/1/pay", data={"_csrf": token}, headers=PAGE)
    assert paid.status_code == 404
