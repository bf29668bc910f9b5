"""The streamer studio (主播工作台) in a real browser: book a slot, be refused an overlap, go live, pin a product.

The demo studios open 08:00–22:00 or evenings only, and going live is allowed from 30 minutes before the start, so
the booking test uses a round-the-clock studio the centre admin adds through the API (a unique name per run).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveHub, assert_accessible, login, screenshot

SH = ZoneInfo("Asia/Shanghai")
ROUND_THE_CLOCK = {str(d): [["00:00", "24:00"]] for d in range(1, 8)}
LENGTH = 20  # minutes


def soon_slot() -> dt.datetime:
    """A start 5–10 minutes from now (local), moved to midnight when the session would cross it."""
    now = dt.datetime.now(SH).replace(second=0, microsecond=0)
    start = now + dt.timedelta(minutes=10 - now.minute % 5)
    midnight = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(0), tzinfo=SH)
    return midnight if start + dt.timedelta(minutes=LENGTH) > midnight else start


def make_studio(live_hub: LiveHub) -> tuple[int, str]:
    name = f"通宵测试直播间-{uuid.uuid4().hex[:6]}"
    token = live_hub.token("admin", "admin12345")
    with live_hub.api() as api:
        r = api.post(
            "/api/live/studios",
            json={
                "name": name,
                "address": "服务中心三楼",
                "opening_hours": ROUND_THE_CLOCK,
                "turnover_gap_minutes": 10,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        return int(r.json()["id"]), name


def test_a_streamer_books_is_refused_an_overlap_goes_live_and_pins_a_product(phone: Page, live_hub: LiveHub) -> None:
    # Given a round-the-clock studio and streamer 小李 logged in on a phone
    studio_id, studio_name = make_studio(live_hub)
    start = soon_slot()
    title = f"测试专场 {uuid.uuid4().hex[:4]}"
    login(phone, "streamer_xiaoli", "streamer12345")

    # When she opens her week, it is her schedule with a way to book
    phone.goto("/studio")
    expect(phone.get_by_role("heading", level=1)).to_have_text("我的直播排期")
    assert_accessible(phone)
    screenshot(phone, "studio-week-phone")

    # And she picks the studio and the day: the free slots are listed plainly
    phone.goto(f"/studio/book?studio={studio_id}&day={start.date().isoformat()}")
    expect(phone.get_by_role("heading", name=re.compile(f"{studio_name} · .* 的空闲时段"))).to_be_visible()
    expect(phone.locator(".slot").first).to_contain_text("24:00")
    assert_accessible(phone)
    screenshot(phone, "studio-book-phone")

    # And fills in the session, finds a product by searching and ticks it
    phone.get_by_label("直播标题").fill(title)
    phone.get_by_label("开始时间").fill(start.strftime("%H:%M"))
    phone.get_by_label("时长（分钟）").fill(str(LENGTH))
    with phone.expect_response(lambda r: r.url.endswith("/studio/book") and r.request.method == "POST") as searched:
        phone.get_by_label("搜索商品").fill("红糖")
    assert searched.value.status == 200
    first = phone.locator("#picker-list li").first
    expect(first).to_contain_text("红糖")
    product_title = first.locator(".picker-title").inner_text()
    first.locator("input[type=checkbox]").check()
    expect(phone.locator("#picker-count")).to_have_text("已选 1 件")
    phone.get_by_role("button", name="确认预约").click()

    # Then the session is booked and its page opens
    expect(phone).to_have_url(re.compile(r"/studio/sessions/\d+\?done=booked$"))
    session_id = int(re.search(r"/studio/sessions/(\d+)", phone.url).group(1))  # type: ignore[union-attr]
    expect(phone.get_by_role("status").first).to_contain_text("预约成功")
    expect(phone.get_by_role("heading", level=1)).to_have_text(title)

    # When she tries to book an overlapping session in the same studio
    phone.goto(f"/studio/book?studio={studio_id}&day={start.date().isoformat()}")
    phone.get_by_label("直播标题").fill("重叠的场次")
    phone.get_by_label("开始时间").fill(start.strftime("%H:%M"))
    phone.get_by_label("时长（分钟）").fill("30")
    phone.get_by_role("button", name="确认预约").click()

    # Then it is refused, naming the session in the way and its time, and what she typed is kept
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("这个时段和已有场次冲突")
    expect(alert).to_contain_text(f"「{title}」")
    end = start + dt.timedelta(minutes=LENGTH)
    expect(alert).to_contain_text(f"{start:%H:%M}–{end:%H:%M}")
    expect(phone.get_by_label("直播标题")).to_have_value("重叠的场次")
    expect(phone.get_by_label("时长（分钟）")).to_have_value("30")
    assert_accessible(phone)
    screenshot(phone, "studio-book-conflict-phone")
    with live_hub.api() as api:
        sessions = api.get("/api/live/sessions", params={"status": "upcoming", "per_page": 100}).json()["items"]
    assert [s["title"] for s in sessions if s["studio_id"] == studio_id] == [title]

    # When she goes live
    phone.goto(f"/studio/sessions/{session_id}")
    assert_accessible(phone)
    screenshot(phone, "studio-session-before-live-phone")
    phone.get_by_role("button", name="开始直播").click()

    # Then the live screen follows the figures by itself: a viewer arriving shows up without a reload
    expect(phone.locator("#status-tag")).to_have_text("直播中")
    expect(phone.locator("#connection")).to_have_text("实时更新中")
    with live_hub.api() as api:
        api.post(f"/api/live/sessions/{session_id}/heartbeat", json={"viewer_id": "viewer-1"}).raise_for_status()
    expect(phone.locator('[data-figure="viewers"]')).to_have_text("1")
    expect(phone.locator('[data-figure="total_viewers"]')).to_have_text("1")

    # When she pins the product she is presenting
    phone.get_by_role("button", name=re.compile(f"置顶讲解\\s*：{re.escape(product_title)}")).click()

    # Then the line-up shows it pinned, and the session says so too
    pinned = phone.locator("#lineup .lineup-item.is-pinned")
    expect(pinned).to_contain_text(product_title)
    expect(pinned.locator(".pinned-badge")).to_have_text("讲解中")
    expect(phone.get_by_role("button", name=re.compile(f"取消置顶\\s*：{re.escape(product_title)}"))).to_be_visible()
    with live_hub.api() as api:
        body = api.get(f"/api/live/sessions/{session_id}").json()
    assert body["status"] == "live"
    assert body["pinned_product_id"] == int(str(pinned.get_attribute("data-product-id")))
    assert [item["title"] for item in body["lineup"]] == [product_title]
    assert_accessible(phone)
    screenshot(phone, "studio-live-phone")

    # When she ends the broadcast (confirming the question)
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="结束直播").click()

    # Then the session is ended and its report is shown
    expect(phone.locator("#status-tag")).to_have_text("已结束")
    expect(phone.get_by_role("heading", name="直播复盘")).to_be_visible()
    with live_hub.api() as api:
        assert api.get(f"/api/live/sessions/{session_id}").json()["status"] == "ended"
    assert_accessible(phone)
    screenshot(phone, "studio-session-ended-phone")

    # And the month's reports list it
    phone.goto(f"/studio/reports?month={start:%Y-%m}")
    expect(phone.get_by_role("link", name=title)).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "studio-reports-phone")


def test_the_week_view_moves_between_weeks_and_shows_the_demo_sessions(phone: Page) -> None:
    # Given streamer 小李, whose demo schedule has sessions in the coming days
    login(phone, "streamer_xiaoli", "streamer12345")
    phone.goto("/studio")
    this_week = phone.locator("#week-label").inner_text()
    # When she goes to the next week and back
    phone.get_by_role("link", name="下一周 →").click()
    expect(phone.locator("#week-label")).not_to_have_text(this_week)
    expect(phone.get_by_role("link", name="回到本周")).to_be_visible()
    phone.get_by_role("link", name="← 上一周").click()
    # Then she is on this week again, with today marked
    expect(phone.locator("#week-label")).to_have_text(this_week)
    expect(phone.locator(".week-day.is-today")).to_have_count(1)
    # And the demo sessions within the next eight days are on her weeks, each a link to its page
    phone.goto("/studio")
    this_week_count = phone.locator(".session-card").count()
    phone.get_by_role("link", name="下一周 →").click()
    expect(phone.locator("#week-label")).not_to_have_text(this_week)
    assert this_week_count + phone.locator(".session-card").count() >= 2


def test_the_studio_pages_at_kiosk_size(kiosk_screen: Page) -> None:
    # Given the centre admin on a large screen (a centre admin may view every streamer's studio pages)
    login(kiosk_screen, "admin", "admin12345")
    for path, name, heading in (
        ("/studio", "studio-week-kiosk", "直播排期（全部主播）"),
        ("/studio/book", "studio-book-kiosk", "预约直播间"),
        ("/studio/reports", "studio-reports-kiosk", "直播复盘与佣金（全部主播）"),
    ):
        kiosk_screen.goto(path)
        expect(kiosk_screen.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(kiosk_screen)
        screenshot(kiosk_screen, name)
    # And a demo session's page from the week
    kiosk_screen.goto("/studio")
    kiosk_screen.get_by_role("link", name="下一周 →").click()
    kiosk_screen.locator(".session-card").first.click()
    expect(kiosk_screen.get_by_role("heading", name="标题和选品")).to_be_visible()
    assert_accessible(kiosk_screen)
    screenshot(kiosk_screen, "studio-session-kiosk")


def test_a_buyer_is_not_let_into_the_studio(phone: Page) -> None:
    login(phone, "buyer", "buyer12345")
    response = phone.goto("/studio")
    assert response is not None and response.status == 403
    expect(phone.get_by_role("heading", level=1)).to_have_text("没有权限")
