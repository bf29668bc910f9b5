"""The showroom kiosk at 1920×1080: activated with a device token, browsed by touch, searched with the on-screen
keyboard, live figures that change by themselves after a paid order, "buy on your phone" QR codes that decode to
the product's and the cart's phone URLs, and the idle reset that forgets the visitor."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect
from purepix import qr
from purepix.codecs import png

from tests.browser.conftest import LiveHub, assert_accessible, screenshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
EVERY_HOUR = {str(d): [["00:00", "24:00"]] for d in range(1, 8)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def device_token(live_hub: LiveHub) -> str:
    """What the centre admin does once: issue the kiosk account a device token through the admin API."""
    admin = bearer(live_hub.token("admin", "admin12345"))
    with live_hub.api() as api:
        kiosks = api.get("/api/admin/users", params={"role": "kiosk"}, headers=admin).json()["items"]
        r = api.post(f"/api/admin/users/{kiosks[0]['id']}/device-token", json={"days": 30}, headers=admin)
        assert r.status_code == 201, r.text
        return str(r.json()["access_token"])


def activate(page: Page, live_hub: LiveHub) -> None:
    page.goto(f"/kiosk/activate?token={device_token(live_hub)}")
    expect(page).to_have_url(live_hub.url("/kiosk"))


def product_by_title(live_hub: LiveHub, title: str) -> dict[str, Any]:
    with live_hub.api() as api:
        found = api.get("/api/search", params={"q": title, "per_page": 1}).json()["hits"][0]
        return dict(api.get(f"/api/products/{found['id']}").json())


def small_targets(page: Page) -> list[str]:
    """Visible links and buttons in the kiosk's frame smaller than 48×48 CSS pixels."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('main a, main button, header a, header button'))
                .filter(el => el.offsetParent !== null)
                .filter(el => { const r = el.getBoundingClientRect(); return r.width < 48 || r.height < 48; })
                .map(el => el.outerHTML.slice(0, 80))"""
        )
    )


def decode_qr_at(page: Page, selector: str) -> str:
    image = page.locator(selector)
    response = page.request.get(str(image.get_attribute("src")))  # the screen's own cookies
    assert response.status == 200
    return qr.decode_text(png.loads(response.body()))


def test_an_activated_kiosk_is_browsed_by_touch_and_searched_with_the_onscreen_keyboard(
    kiosk_screen: Page, live_hub: LiveHub
) -> None:
    page = kiosk_screen
    # Given a screen that has not been activated: a plain page says so (no log-in form at a touch screen)
    response = page.goto("/kiosk")
    assert response is not None and response.status == 401
    expect(page.get_by_role("heading", level=1)).to_have_text("这块屏幕还没有激活")
    assert_accessible(page)
    screenshot(page, "kiosk-not-activated")
    # When the admin opens the activation link with the kiosk's device token, the attract screen shows
    activate(page, live_hub)
    expect(page.get_by_role("heading", level=1)).to_have_text("家门口的共富工坊")
    expect(page.get_by_role("heading", name="正在直播")).to_be_visible()
    expect(page.get_by_role("heading", name="本月直播销售榜")).to_be_visible()
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-attract")
    # When a visitor browses a brand family, then a sub-brand, then a product
    page.get_by_role("link", name="浏览品牌家族").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("品牌家族")
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-brands")
    page.get_by_role("link", name="侨乡优品").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("侨乡优品")
    expect(page.get_by_role("heading", name="子品牌")).to_be_visible()
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-family")
    page.get_by_role("link", name="侨乡丽人", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("侨乡丽人")
    expect(page.get_by_role("navigation", name="位置")).to_contain_text("侨乡优品")
    page.get_by_role("link", name="侨乡优品").first.click()
    page.get_by_role("link", name="知味红·红糖工坊").first.click()
    # Then the workshop shows its story, stars and red stewards
    expect(page.get_by_role("heading", level=1)).to_have_text("知味红·红糖工坊")
    expect(page.get_by_role("heading", name="工坊故事")).to_be_visible()
    expect(page.get_by_role("heading", name="红色管家")).to_be_visible()
    expect(page.locator(".stars").first).to_have_attribute("aria-label", "5 星（满分 5 星）")
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-workshop")
    page.get_by_role("link", name="知味红 古法手工红糖").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("知味红 古法手工红糖")
    expect(page.locator("#workshop-title")).to_contain_text("知味红·红糖工坊")
    expect(page.get_by_role("heading", name="手机扫码购买")).to_be_visible()
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-product")

    # When the visitor searches by initials on the on-screen keyboard, the results follow each key (htmx)
    page.get_by_role("link", name="搜索", exact=True).click()
    keyboard = page.get_by_role("group", name="屏幕键盘")
    expect(page.locator("#results")).to_contain_text("用下面的键盘输入拼音或首字母")
    keyboard.get_by_role("button", name="h", exact=True).click()
    keyboard.get_by_role("button", name="t", exact=True).click()
    expect(page.get_by_label("搜索内容（拼音或首字母，例如 hongtang 或 ht）")).to_have_value("ht")
    expect(page.locator("[data-results-for]")).to_have_attribute("data-results-for", "ht")
    results = page.locator("#results .result-list").first
    expect(results).to_contain_text("知味红 古法手工红糖")
    expect(results.locator("em").first).to_have_text("红糖")
    assert page.url == live_hub.url("/kiosk/search")  # no reload: htmx swapped the results in
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-search-initials")
    # backspace, then clear, then the full pinyin
    keyboard.get_by_role("button", name="退格").click()
    expect(page.locator("[data-results-for]")).to_have_attribute("data-results-for", "h")
    keyboard.get_by_role("button", name="清空").click()
    expect(page.locator("#results")).to_contain_text("用下面的键盘输入拼音或首字母")
    for letter in "hongtang":
        keyboard.get_by_role("button", name=letter, exact=True).click()
    expect(page.locator("[data-results-for]")).to_have_attribute("data-results-for", "hongtang")
    expect(page.locator("#results .result-list").first).to_contain_text("知味红 古法手工红糖")
    screenshot(page, "kiosk-search-pinyin")


def _local_slot(minutes: int = 30) -> tuple[dt.datetime, dt.datetime]:
    """A slot starting about now that does not cross local midnight (a studio day ends at 24:00)."""
    start = dt.datetime.now(SHANGHAI).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    end = start + dt.timedelta(minutes=minutes)
    if end.date() != start.date():  # just before midnight: the next day's first slot may go live 30 minutes early
        start = dt.datetime.combine(end.date(), dt.time(0, 1), tzinfo=SHANGHAI)
        end = start + dt.timedelta(minutes=minutes)
    return start, end


def _live_session(api: httpx.Client, admin: dict[str, str], product_id: int) -> dict[str, Any]:
    """A studio, a streamer of its own and a session of theirs selling the product, live now."""
    tag = uuid.uuid4().hex[:6]
    r = api.post(
        "/api/admin/users",
        json={"username": f"kiosk_streamer_{tag}", "password": "streamer12345", "display_name": "展厅村播阿美",
              "role": "streamer"},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    streamer_id = r.json()["id"]
    r = api.post(
        "/api/live/studios",
        json={"name": f"展厅测试直播间{tag}", "opening_hours": EVERY_HOUR, "turnover_gap_minutes": 0},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    start, end = _local_slot()
    r = api.post(
        "/api/live/sessions",
        json={"studio_id": r.json()["id"], "title": f"红糖直播专场{tag}", "starts_at": start.isoformat(),
              "ends_at": end.isoformat(), "product_ids": [product_id], "streamer_user_id": streamer_id,
              "commission_bp": 800},
        headers=admin,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    session = r.json()
    r = api.post(f"/api/live/sessions/{session['id']}/start", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _paid_order(api: httpx.Client, admin: dict[str, str], buyer: dict[str, str], variant_id: int, code: str) -> int:
    """The buyer buys through the session's share code (the cart line carries the session); paid at the counter."""
    r = api.post(
        "/api/checkout",
        json={"lines": [{"variant_id": variant_id, "quantity": 1, "share_code": code}], "payment_method": "offline",
              "delivery": {"method": "home", "address": {"name": "王女士", "phone": "13800000001", "county": "青田县",
                                                          "township": "鹤塘乡", "village": "上坪村",
                                                          "detail": "上坪村 1 号"}}},
        headers=buyer,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    order = r.json()
    r = api.post(f"/api/orders/{order['id']}/payments/offline", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"
    return int(order["id"])


def test_the_live_strip_shows_a_sessions_sales_change_after_a_paid_order_without_reload(
    kiosk_screen: Page, live_hub: LiveHub
) -> None:
    page = kiosk_screen
    admin = bearer(live_hub.token("admin", "admin12345"))
    buyer = bearer(live_hub.token("buyer", "buyer12345"))
    product = product_by_title(live_hub, "知味红 古法手工红糖")
    variant = next(v for v in product["variants"] if v["available"] > 1)
    with live_hub.api() as api:
        # Given a session that is live now, and the kiosk's attract screen following the figures over the WebSocket
        live = _live_session(api, admin, product["id"])
        activate(page, live_hub)
        card = page.locator(f'[data-live-session="{live["id"]}"]')
        expect(card).to_contain_text(live["title"])
        expect(card.locator('[data-figure="gmv_fen"]')).to_have_text("¥0.00")
        expect(page.locator("[data-live-mode]")).to_have_attribute("data-connected", "true")
        expect(page.locator("[data-live-mode]")).to_have_text("实时更新")
        page.evaluate("window.__sameScreen = 'not reloaded'")
        # When a buyer orders through the session's share link and pays at the counter
        _paid_order(api, admin, buyer, variant["id"], live["share_code"])
        # Then the session's sales and orders change on the screen by themselves
        expect(card.locator('[data-figure="gmv_fen"]')).to_have_text(
            f"¥{variant['price_fen'] // 100}.{variant['price_fen'] % 100:02d}"
        )
        expect(card.locator('[data-figure="orders"]')).to_have_text("1")
        assert page.evaluate("window.__sameScreen") == "not reloaded"
        assert_accessible(page)
        screenshot(page, "kiosk-live-strip")
        # When the connection drops, the screen reconnects and keeps following
        page.evaluate("window.kioskLive.socket.close()")
        expect(page.locator("[data-live-mode]")).to_have_attribute("data-connected", "true", timeout=15_000)
        _paid_order(api, admin, buyer, variant["id"], live["share_code"])
        expect(card.locator('[data-figure="orders"]')).to_have_text("2")
        total = 2 * variant["price_fen"]
        expect(card.locator('[data-figure="gmv_fen"]')).to_have_text(f"¥{total // 100}.{total % 100:02d}")
        assert page.evaluate("window.__sameScreen") == "not reloaded"
        # And the month's leaderboard on the same screen follows (refreshed a few seconds after the sales)
        expect(page.locator("#live-board .leaderboard").first).to_contain_text("展厅村播阿美", timeout=15_000)
        assert page.evaluate("window.__sameScreen") == "not reloaded"
        # And the live page shows the session with the month's leaderboard
        page.get_by_role("link", name="直播", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("直播带货")
        expect(page.locator(".leaderboard").first).to_contain_text("展厅村播阿美")
        assert_accessible(page)
        screenshot(page, "kiosk-live")
        api.post(f"/api/live/sessions/{live['id']}/end", headers=admin)


def test_without_a_websocket_the_strip_falls_back_to_polling(kiosk_screen: Page, live_hub: LiveHub) -> None:
    page = kiosk_screen
    # Given a browser where the WebSocket cannot be opened
    page.add_init_script("window.WebSocket = undefined;")
    activate(page, live_hub)
    strip = page.locator("#live-strip")
    expect(page.locator("[data-live-mode]")).to_have_attribute("data-connected", "false")
    expect(page.locator("[data-live-mode]")).to_have_text("定时刷新")
    # Then the strip asks for fresh figures by itself (htmx polling), without reloading the page
    page.evaluate("window.__sameScreen = 'not reloaded'")
    with page.expect_response(lambda r: r.url.endswith("/kiosk/live/strip") and r.status == 200, timeout=20_000):
        pass
    expect(strip).to_be_visible()
    assert page.evaluate("window.__sameScreen") == "not reloaded"


def test_qr_codes_open_the_product_or_the_kiosk_cart_on_a_phone_and_idle_resets_the_screen(
    kiosk_screen: Page, live_hub: LiveHub
) -> None:
    page = kiosk_screen
    activate(page, live_hub)
    product = product_by_title(live_hub, "知味红 老姜红糖块")
    # Given a product's page on the kiosk
    page.goto(f"/kiosk/products/{product['id']}")
    # Then its QR code opens the same product on the visitor's phone
    phone_url = live_hub.url(f"/products/{product['id']}")
    expect(page.locator("img.qr")).to_have_attribute("data-url", phone_url)
    assert decode_qr_at(page, "img.qr") == phone_url
    # When the visitor adds it to the kiosk's cart
    page.get_by_role("button", name="加入购物车").first.click()
    expect(page.get_by_role("status").filter(has_text="已加入购物车")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-cart-count", "1")
    page.get_by_role("link", name="去购物车扫码结账").click()
    # Then the cart's QR code hands that very cart (an anonymous cart built at the screen) to the phone
    expect(page.get_by_role("heading", name="手机扫码结账")).to_be_visible()
    cart_url = str(page.locator("img.qr").get_attribute("data-url"))
    assert cart_url.startswith(live_hub.url("/cart?token="))
    assert decode_qr_at(page, "img.qr") == cart_url
    token = cart_url.split("token=", 1)[1]
    with live_hub.api() as api:
        lines = api.get("/api/cart", headers={"X-Cart-Token": token}).json()["lines"]
    assert [(ln["product_id"], ln["quantity"]) for ln in lines] == [(product["id"], 1)]
    assert small_targets(page) == []
    assert_accessible(page)
    screenshot(page, "kiosk-cart")
    # When nobody touches the screen (the timeout shortened to 3 s for the test)
    page.goto("/kiosk/cart?idle=3")
    # Then it warns, and returns to the attract screen with an empty cart: the next visitor sees nothing of this one
    expect(page.locator("#idle-warning")).to_be_visible(timeout=5_000)
    expect(page).to_have_url(live_hub.url("/kiosk"), timeout=10_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("家门口的共富工坊")
    expect(page.locator("body")).to_have_attribute("data-cart-count", "0")
    page.evaluate("sessionStorage.removeItem('kioskIdle')")  # back to the real 90 s while we look around
    page.get_by_role("link", name="购物车").click()
    expect(page.get_by_text("购物车是空的")).to_be_visible()
    assert token not in page.content()
    screenshot(page, "kiosk-after-idle")
    # And touches keep the screen as it is (the timer starts again on every touch)
    page.goto(f"/kiosk/products/{product['id']}?idle=3")
    for _ in range(3):
        page.wait_for_timeout(1_500)
        page.mouse.click(5, 1000)
    expect(page).to_have_url(live_hub.url(f"/kiosk/products/{product['id']}?idle=3"))
