"""The member's statement page by private link: total first in large type, each amount explained, zh-CN by default
with an English switch, and a kind page (not JSON) when the link is unknown, expired or revoked."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.benefits.models import StatementLink
from tests import factories
from tests.benefits.test_seed_examples import brown_sugar_october

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # page rendering: one backend suffices
HTML = {"accept": "text/html"}


async def closed_october_link(client: Client, session: AsyncSession, who: str = "jin_cunli") -> tuple[dict, dict]:
    ids = await brown_sugar_october(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    headers = factories.auth(admin)
    assert (await client.post("/api/benefits/months/2026-10/close", headers=headers)).status_code == 200
    made = (
        await client.post(f"/api/benefits/statements/2026-10/{ids[who]}/links", json={"days": 7}, headers=headers)
    ).json()
    return made, headers


async def test_the_statement_shows_the_total_first_and_explains_each_line(
    client: Client, session: AsyncSession
) -> None:
    # given 金存礼's closed October: 1,200 pieces packed at ¥26.00 (brown_sugar_october)
    made, _ = await closed_october_link(client, session)
    # when he opens his private link
    page = await client.get(f"/benefits/s/{made['token']}", headers=HTML)
    # then: a Chinese page, private, with the total before any line, each line in plain words, and the PDF button
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "private, no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert "<h1>2026年10月收益对账单</h1>" in html
    assert '<strong class="amount" id="total-amount">¥31,200.00</strong>' in html
    assert html.index("本月您共得") < html.index("务工工资：¥31,200.00")
    assert "10月8日 在知味红·红糖工坊做「包装」1200件，每件 ¥26.00" in html
    assert "您在工坊干活挣的工钱。" in html
    assert f'href="/benefits/s/{made["token"]}/pdf" download>下载 PDF</a>' in html
    assert "font-size: 1.25rem" in html  # 20px body type for older eyes


async def test_the_english_switch_translates_the_statement(client: Client, session: AsyncSession) -> None:
    made, _ = await closed_october_link(client, session)
    # when the English switch is used
    page = await client.get(f"/benefits/s/{made['token']}?lang=en", headers=HTML)
    # then the page is English, says so, and remembers the choice
    html = page.text
    assert '<html lang="en">' in html
    assert "<h1>Your earnings statement for 10/2026</h1>" in html
    assert "This month you earned" in html and "¥31,200.00" in html
    assert "Wages for work: ¥31,200.00" in html
    assert "10/8 at 知味红·红糖工坊, “包装”: 1200 pieces at ¥26.00 each" in html
    assert ">Download PDF</a>" in html
    assert page.cookies.get("hub_lang") == "en"


async def test_a_revoked_link_shows_a_kind_page_not_json(client: Client, session: AsyncSession) -> None:
    made, headers = await closed_october_link(client, session)
    assert (await client.get(f"/benefits/s/{made['token']}", headers=HTML)).status_code == 200
    # when the link is revoked
    assert (await client.delete(f"/api/benefits/links/{made['id']}", headers=headers)).status_code == 204
    page = await client.get(f"/benefits/s/{made['token']}", headers=HTML)
    # then the member gets a readable page telling them to ask the village, and no figure of the statement
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>这个对账单链接已经不能用了</h1>" in page.text
    assert "请到村委会或找工坊管理员" in page.text
    assert "¥31,200.00" not in page.text
    # and in English
    english = await client.get(f"/benefits/s/{made['token']}?lang=en", headers=HTML)
    assert english.status_code == 404 and "<h1>This statement link no longer works</h1>" in english.text
    # an unknown token gets the same page; the PDF stays refused
    assert (await client.get("/benefits/s/not-a-token", headers=HTML)).status_code == 404
    assert (await client.get(f"/benefits/s/{made['token']}/pdf")).status_code == 404
    assert await session.scalar(select(func.count()).select_from(StatementLink)) == 1
