"""The buyer's storefront end to end in Chromium: search in pinyin, product, cart, checkout to a village pickup point
with the offline payment, then staff confirm the payment and the parcel reaches the point through the real API, and
the buyer's order page shows the pickup code. Every page is screenshotted at phone size and checked with axe-core."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveHub, assert_accessible, screenshot

SHANGHAI = ZoneInfo("Asia/Shanghai")


def check(page: Page, name: str) -> None:
    assert_accessible(page)
    screenshot(page, name)


def bring_parcels_to_their_points(live_hub: LiveHub) -> int:
    """Centre staff plan the next days' dispatch and confirm every planned batch's arrival (the real admin API)."""
    admin = {"Authorization": f"Bearer {live_hub.token('admin', 'admin12345')}"}
    arrived = 0
    today = dt.datetime.now(SHANGHAI).date()
    with live_hub.api() as api:
        for offset in range(3):
            day = (today + dt.timedelta(days=offset)).isoformat()
            planned = api.post("/api/admin/logistics/dispatch", json={"date": day}, headers=admin)
            assert planned.status_code == 200, planned.text
            batches = api.get("/api/admin/logistics/batches", params={"date": day}, headers=admin)
            assert batches.status_code == 200, batches.text
            for batch in batches.json():
                if batch["status"] == "planned" and batch["parcel_count"] > 0:
                    done = api.post(f"/api/logistics/batches/{batch['id']}/arrive", headers=admin)
                    assert done.status_code == 200, done.text
                    arrived += 1
    return arrived


def test_a_buyer_finds_hongtang_buys_it_for_village_pickup_and_sees_the_pickup_code(
    phone: Page, live_hub: LiveHub
) -> None:
    # Given the home page on a phone
    phone.goto("/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("买山里的好东西，钱回到村里")
    check(phone, "storefront-home-phone")

    # When the buyer types pinyin, then suggestions in Chinese appear as they type
    box = phone.get_by_role("searchbox", name="搜索商品")
    box.fill("hongtang")
    expect(phone.locator("#suggestions").get_by_role("link", name="知味红 古法手工红糖")).to_be_visible()
    check(phone, "storefront-suggestions-phone")

    # and the search page finds the brown sugar products, with facets
    box.press("Enter")
    phone.wait_for_url(re.compile(r"/search\?q=hongtang"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("“hongtang”的搜索结果")
    expect(phone.get_by_text("筛选", exact=True)).to_be_visible()
    check(phone, "storefront-search-phone")
    phone.get_by_role("link", name="知味红 古法手工红糖").first.click()

    # The product page: variants with prices, the workshop's story, red stewards, ratings, where the money goes
    expect(phone.get_by_role("heading", level=1)).to_have_text("知味红 古法手工红糖")
    expect(phone.get_by_role("heading", name="钱去了哪里")).to_be_visible()
    expect(phone.get_by_role("heading", name="红色管家")).to_be_visible()
    expect(phone.get_by_role("heading", name="半年度星级评定")).to_be_visible()
    check(phone, "storefront-product-phone")
    phone.get_by_role("button", name="加入购物车").click()
    expect(phone.get_by_role("status")).to_contain_text("已加入购物车。")

    # The cart (anonymous still), then checkout asks to log in and comes back
    phone.get_by_role("link", name="去购物车结算").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("购物车")
    expect(phone.get_by_role("link", name="知味红 古法手工红糖")).to_be_visible()
    check(phone, "storefront-cart-phone")
    phone.get_by_role("link", name="去结算").click()
    phone.wait_for_url(re.compile(r"/login\?next="))
    phone.get_by_label("用户名").fill("buyer")
    phone.get_by_label("密码").fill("buyer12345")
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(re.compile(r"/checkout$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("结算")

    # Checkout: choose the village; htmx brings its pickup points and the exact total
    phone.get_by_label("您所在的村").select_option(label="上坪村")
    point = phone.get_by_role("radio", name=re.compile("上坪村村级服务点"))
    expect(point).to_be_checked()
    expect(phone.locator("#grand-total")).to_have_text("¥38.00")
    expect(phone.get_by_role("radio", name=re.compile("线下付款"))).to_be_checked()
    check(phone, "storefront-checkout-phone")
    phone.get_by_role("button", name="提交订单").click()

    # The order: awaiting payment at the counter or the pickup point
    phone.wait_for_url(re.compile(r"/orders/\d+\?placed=1"))
    expect(phone.get_by_role("status").first).to_have_text("下单成功！")
    expect(phone.get_by_role("heading", name="怎么付款")).to_be_visible()
    check(phone, "storefront-order-placed-phone")
    found = re.search(r"/orders/(\d+)", phone.url)
    assert found
    order_id = int(found.group(1))

    # When staff confirm the offline payment at the kiosk counter and the parcel travels to the village point
    kiosk = {"Authorization": f"Bearer {live_hub.token('kiosk', 'kiosk12345')}"}
    with live_hub.api() as api:
        paid = api.post(
            f"/api/orders/{order_id}/payments/offline", headers={**kiosk, "Idempotency-Key": f"e2e-{order_id}"}
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"
    assert bring_parcels_to_their_points(live_hub) >= 1

    # Then the buyer's order page shows the six-digit pickup code, the timeline and where the money went
    phone.goto(f"/orders/{order_id}")
    code = phone.get_by_test_id("pickup-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(phone.get_by_role("heading", name=re.compile("已到自提点，待取件"))).to_be_visible()
    expect(phone.get_by_text("知味红·红糖工坊：")).to_be_visible()
    check(phone, "storefront-order-pickup-code-phone")

    # and the order list has it
    phone.get_by_role("link", name="返回我的订单").click()
    expect(phone.get_by_role("link", name=f"订单 #{order_id}")).to_be_visible()
    check(phone, "storefront-orders-phone")


def test_the_workshop_page_and_the_english_switch_on_a_phone(phone: Page) -> None:
    phone.goto("/search?q=红糖")
    phone.get_by_role("link", name="知味红 古法手工红糖").first.click()
    phone.get_by_role("link", name="看看这个工坊的全部商品").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("知味红·红糖工坊")
    expect(phone.get_by_role("heading", name="红色管家")).to_be_visible()
    check(phone, "storefront-workshop-phone")
    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_role("heading", name="Red stewards")).to_be_visible()
    assert phone.locator("html").get_attribute("lang") == "en"
    check(phone, "storefront-workshop-phone-en")
    phone.get_by_role("link", name="中文").click()
    expect(phone.get_by_role("heading", name="红色管家")).to_be_visible()


def test_home_and_product_at_kiosk_size(kiosk_screen: Page) -> None:
    kiosk_screen.goto("/")
    expect(kiosk_screen.get_by_role("heading", name="丽水山坊")).to_be_visible()
    check(kiosk_screen, "storefront-home-kiosk")
    kiosk_screen.get_by_role("link", name="知味红 古法手工红糖").first.click()
    expect(kiosk_screen.get_by_role("heading", level=1)).to_have_text("知味红 古法手工红糖")
    check(kiosk_screen, "storefront-product-kiosk")


def test_the_kiosk_cart_qr_link_opens_the_cart_on_the_phone(phone: Page, live_hub: LiveHub) -> None:
    # Given a cart made at the kiosk (anonymous, through the API) and its "buy on your phone" link
    with live_hub.api() as api:
        product = api.get("/api/products", params={"family": "丽水山坊", "per_page": 1}).json()["items"][0]
        detail = api.get(f"/api/products/{product['id']}").json()
        made = api.post("/api/cart/lines", json={"variant_id": detail["variants"][0]["id"], "quantity": 2})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
    # When the phone opens it, then the cart is there under a clean URL
    phone.goto(f"/cart?token={token}")
    phone.wait_for_url(re.compile(r"/cart$"))
    expect(phone.get_by_role("link", name=detail["title"])).to_be_visible()
    expect(phone.get_by_label("数量")).to_have_value("2")
