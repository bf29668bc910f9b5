"""The shared page frame: log in and out, language switch, error pages; accessible at phone size and 200% zoom."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveHub, assert_accessible, login, new_context, screenshot


def test_a_wrong_password_is_explained_and_the_right_one_logs_in(phone: Page) -> None:
    # Given the log-in page
    phone.goto("/login")
    assert_accessible(phone)
    screenshot(phone, "login-phone")
    # When a wrong password is given
    phone.get_by_label("用户名").fill("buyer")
    phone.get_by_label("密码").fill("wrong-password")
    phone.get_by_role("button", name="登录").click()
    # Then the page says so, in plain words, and keeps the username
    expect(phone.get_by_role("alert")).to_have_text("用户名或密码不对，请再试一次。")
    expect(phone.get_by_label("用户名")).to_have_value("buyer")
    # When the right one is given, the header shows the buyer and a log-out button
    login(phone, "buyer", "buyer12345")
    phone.goto("/login")
    expect(phone.get_by_role("button", name="退出（王女士）")).to_be_visible()


def test_the_english_switch_translates_the_frame_and_is_remembered(phone: Page) -> None:
    phone.goto("/login")
    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Log in")
    assert phone.locator("html").get_attribute("lang") == "en"
    phone.goto("/login")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Log in")


def test_an_unknown_page_is_a_readable_404_page(phone: Page) -> None:
    response = phone.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("找不到这个页面")


def test_a_form_without_its_csrf_token_is_refused(phone: Page) -> None:
    login(phone, "buyer", "buyer12345")
    response = phone.request.post("/logout", form={"x": "1"})
    assert response.status == 403
    assert response.json()["errors"] == [{"field": "_csrf", "message": "missing or wrong CSRF token"}]


def test_pages_reflow_at_200_percent_zoom_without_sideways_scrolling(browser: Browser, live_hub: LiveHub) -> None:
    # Given a 1280 px wide desktop window zoomed to 200% — the same layout width as a 640 px window (WCAG 1.4.10)
    context = new_context(browser, live_hub, {"width": 640, "height": 400})
    page = context.new_page()
    for path in ("/", "/search?q=hongtang", "/login", "/cart"):
        # When each page is opened
        page.goto(path)
        # Then nothing is wider than the window: no sideways scrolling, and the main heading is on screen
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 200% zoom"
        assert page.locator("h1").first.bounding_box() is not None
    screenshot(page, "zoom-200-search")
    context.close()
