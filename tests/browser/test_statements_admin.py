"""A member reads last month's statement from a private link and downloads the PDF; a centre admin closes a month
and watches it through to the settlement; the synonym editor round-trips; every page at phone and kiosk size, and
accessible (axe-core)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveHub, assert_accessible, login, screenshot

SHANGHAI = ZoneInfo("Asia/Shanghai")


def this_month() -> str:
    today = dt.datetime.now(SHANGHAI).date()
    return f"{today.year:04d}-{today.month:02d}"


def last_month() -> str:
    first = dt.datetime.now(SHANGHAI).date().replace(day=1)
    prev = first - dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def demo_member_link(live_hub: LiveHub) -> str:
    """A fresh private link to 金存礼's (the `member` account's) statement of last month, made through the API."""
    headers = {"Authorization": f"Bearer {live_hub.token('admin', 'admin12345')}"}
    with live_hub.api() as api:
        members = api.get("/api/benefits/members", params={"per_page": 100}, headers=headers).json()["items"]
        member_id = next(m["id"] for m in members if m["name"] == "金存礼")
        made = api.post(f"/api/benefits/statements/{last_month()}/{member_id}/links", json={"days": 7}, headers=headers)
        assert made.status_code == 201, made.text
        return str(made.json()["token"])


def test_a_member_opens_the_statement_and_downloads_the_pdf(
    phone: Page, kiosk_screen: Page, live_hub: LiveHub, tmp_path: Path
) -> None:
    # Given the demo month closed by `hub seed --demo` and a private link for 金存礼
    token = demo_member_link(live_hub)
    # When he opens it on his phone
    phone.goto(f"/benefits/s/{token}")
    # Then the total comes first, to the fen: 270 pieces × ¥2.60 + 4.5 h × ¥25 + 350 kg × ¥0.90
    expect(phone.get_by_role("heading", level=1)).to_contain_text("收益对账单")
    expect(phone.locator("#total-amount")).to_have_text("¥1,129.50")
    expect(phone.get_by_role("heading", name="务工工资：¥814.50")).to_be_visible()
    expect(phone.get_by_role("heading", name="保底收购：¥315.00")).to_be_visible()
    expect(phone.get_by_text("卖给知味红·红糖工坊甘蔗 350公斤")).to_be_visible()
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    body_px = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_px >= 20
    assert_accessible(phone)
    screenshot(phone, "statement-phone")
    # And the big button downloads the PDF
    with phone.expect_download() as download_info:
        phone.get_by_role("link", name="下载 PDF").click()
    saved = tmp_path / "statement.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    # In English
    phone.get_by_role("link", name="English").click()
    expect(phone.locator("#total-heading")).to_have_text("This month you earned")
    expect(phone.locator("#total-amount")).to_have_text("¥1,129.50")
    assert phone.locator("html").get_attribute("lang") == "en"
    assert_accessible(phone)
    screenshot(phone, "statement-phone-en")
    kiosk_screen.goto(f"/benefits/s/{token}?lang=zh")
    expect(kiosk_screen.locator("#total-amount")).to_have_text("¥1,129.50")
    assert_accessible(kiosk_screen)
    screenshot(kiosk_screen, "statement-kiosk")
    # A link that does not work explains itself kindly
    response = phone.goto("/benefits/s/no-such-link?lang=zh")
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("这个对账单链接已经不能用了")
    assert_accessible(phone)
    screenshot(phone, "statement-gone-phone")


def test_an_admin_closes_a_month_and_sees_progress_then_the_settlement(phone: Page, kiosk_screen: Page) -> None:
    page = kiosk_screen
    login(page, "admin", "admin12345")
    month = this_month()  # the demo closed last month; this one is next in order
    page.goto("/admin/months")
    expect(page.get_by_role("link", name=month)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "admin-months-kiosk")
    page.goto(f"/admin/months/{month}")
    assert_accessible(page)
    screenshot(page, "admin-month-open-kiosk")
    # Starting without ticking the early-close confirmation names the field
    page.get_by_role("button", name="开始结账").click()
    expect(page.get_by_role("alert")).to_contain_text("确认提前结账")
    page.get_by_label("确认提前结账").check()
    page.get_by_role("button", name="开始结账").click()
    # Progress, then the closed month with its settlements
    expect(page.locator("#close-step")).to_have_text("第 8 / 8 步：结账完成", timeout=30_000)
    expect(page.locator("#close-bar")).to_have_attribute("value", "8")
    expect(page.get_by_text("已结账", exact=False).first).to_be_visible()
    assert_accessible(page)
    screenshot(page, "admin-month-closed-kiosk")
    page.get_by_role("link", name="知味红·红糖工坊").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{month} 知味红·红糖工坊 结算表")
    expect(page.locator("#pool")).to_have_text(re.compile(r"^¥[0-9,]+\.[0-9]{2}$"))
    assert_accessible(page)
    screenshot(page, "admin-settlement-kiosk")
    # Last month's statements: make a private link and see it once
    page.goto(f"/admin/months/{last_month()}")
    page.get_by_role("button", name="生成 金存礼 的私密链接").click()
    link = page.locator("#new-link-url")
    expect(link).to_contain_text("/benefits/s/")
    assert_accessible(page)
    screenshot(page, "admin-statements-kiosk")
    # The same pages at phone size
    login(phone, "admin", "admin12345")
    for path, name in ((f"/admin/months/{month}", "admin-month-closed-phone"), ("/admin/months", "admin-months-phone")):
        phone.goto(path)
        assert_accessible(phone)
        screenshot(phone, name)


def test_workshop_ratings_and_pickup_pages(phone: Page, kiosk_screen: Page) -> None:
    page = kiosk_screen
    login(page, "admin", "admin12345")
    page.goto("/admin")
    assert_accessible(page)
    screenshot(page, "admin-dashboard-kiosk")
    page.get_by_role("link", name="工坊与星级").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工坊与星级")
    assert_accessible(page)
    screenshot(page, "admin-workshops-kiosk")
    page.get_by_role("link", name="知味红·红糖工坊").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("知味红·红糖工坊")
    # A score out of range is refused by the browser's own check; the server names the field too
    page.get_by_label("党建引领").fill("5")
    page.get_by_label("组织运营").fill("5")
    page.get_by_label("服务保障").fill("4")
    page.get_by_label("带富成效").fill("5")
    page.get_by_label("上半年或下半年").select_option("H2")
    page.get_by_role("button", name="保存评定").click()
    expect(page.get_by_role("status").first).to_have_text("星级评定已保存。")
    expect(page.locator(".facts")).to_contain_text("5 星")
    assert_accessible(page)
    screenshot(page, "admin-workshop-kiosk")
    page.goto("/admin/pickup-points")
    expect(page.get_by_role("heading", level=1)).to_have_text("自提点")
    assert_accessible(page)
    screenshot(page, "admin-pickup-points-kiosk")
    page.get_by_role("link", name="添加自提点").click()
    page.get_by_role("button", name="添加").click()  # the browser insists on the required fields first
    assert page.evaluate("document.getElementById('code').validity.valid") is False
    assert_accessible(page)
    screenshot(page, "admin-pickup-new-kiosk")
    login(phone, "admin", "admin12345")
    for path, name in (
        ("/admin/workshops", "admin-workshops-phone"),
        ("/admin/pickup-points/new", "admin-pickup-new-phone"),
    ):
        phone.goto(path)
        assert_accessible(phone)
        screenshot(phone, name)


def test_the_synonym_editor_round_trips(kiosk_screen: Page, phone: Page) -> None:
    page = kiosk_screen
    login(page, "admin", "admin12345")
    page.goto("/admin/search/synonyms")
    box = page.get_by_label("同义词（每行一组，用 = 或空格隔开）")
    original = box.input_value()
    assert "番薯 = 红薯 = 地瓜" in original
    assert_accessible(page)
    screenshot(page, "admin-synonyms-kiosk")
    # A group of one word is refused, naming the group
    box.fill(original + "\n孤词")
    page.get_by_role("button", name="保存同义词").click()
    expect(page.locator("#groups-error")).to_contain_text("孤词")
    expect(box).to_have_attribute("aria-invalid", "true")
    # A real group is saved and shown again
    box.fill(original + "\n山核桃 = 小核桃")
    page.get_by_role("button", name="保存同义词").click()
    expect(page.get_by_role("status").first).to_have_text("同义词已保存，下一次搜索就生效。")
    expect(box).to_have_value(original.rstrip("\n") + "\n山核桃 = 小核桃")
    login(phone, "admin", "admin12345")
    phone.goto("/admin/search/synonyms")
    expect(phone.get_by_label("同义词（每行一组，用 = 或空格隔开）")).to_contain_text("山核桃 = 小核桃")
    assert_accessible(phone)
    screenshot(phone, "admin-synonyms-phone")
