"""Centre admin pages over HTTP: who may open them, forms with CSRF, errors naming the field, post/redirect/get, and
a month close started from the page that ends in the settlement and statement links."""

from __future__ import annotations

import asyncio
import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import StarRating
from shop.accounts.models import Role, User
from shop.benefits.models import BenefitMonth, StatementLink
from tests import factories
from tests.benefits.test_seed_examples import brown_sugar_october

Client = AsyncTestClient[Litestar]
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP pages: one backend suffices
HTML = {"accept": "text/html"}


async def log_in(client: Client, user: User) -> str:
    """Log in through the page form, as a person does; returns the CSRF token for later forms."""
    client.follow_redirects = False  # the tests look at each 303 themselves
    await client.get("/login", headers=HTML)
    token = client.cookies.get("hub_csrf")
    assert token
    r = await client.post(
        "/login",
        data={"_csrf": token, "username": user.username, "password": factories.PASSWORD, "next": "/admin"},
        headers=HTML,
    )
    assert r.status_code == 303, r.text
    return token


async def test_anonymous_is_sent_to_log_in_and_a_buyer_is_refused(client: Client, session: AsyncSession) -> None:
    buyer = await factories.user(session, Role.BUYER)
    await session.commit()
    # anonymous: the log-in page, coming back afterwards
    client.follow_redirects = False
    r = await client.get("/admin/workshops", headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/workshops"
    # a buyer: a readable 403 page on every admin page
    await log_in(client, buyer)
    for path in (
        "/admin",
        "/admin/workshops",
        "/admin/pickup-points",
        "/admin/months/2026-10",
        "/admin/search/synonyms",
    ):
        r = await client.get(path, headers=HTML)
        assert r.status_code == 403, path
        assert "<h1>没有权限</h1>" in r.text


async def test_a_manager_sees_only_their_workshops_and_cannot_rate(client: Client, session: AsyncSession) -> None:
    cat = await factories.small_catalogue(session)
    _, _, village = await factories.region_tree(session, "缙云县", "壶镇镇", "岩下村")
    other = await factories.workshop(session, village, "岩下共富工坊")
    manager = await factories.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.workshop.id])
    await session.commit()
    ratings_before = await session.scalar(select(func.count()).select_from(StarRating))
    await session.commit()  # end the read (SQLite) without expiring the rows the test still uses
    token = await log_in(client, manager)
    listing = (await client.get("/admin/workshops", headers=HTML)).text
    assert f'href="/admin/workshops/{cat.workshop.id}"' in listing
    assert "岩下共富工坊" not in listing
    assert (await client.get(f"/admin/workshops/{other.id}", headers=HTML)).status_code == 403
    own = await client.get(f"/admin/workshops/{cat.workshop.id}", headers=HTML)
    assert own.status_code == 200 and "录入半年星级评定" not in own.text  # rating is the centre's job
    r = await client.post(
        f"/admin/workshops/{cat.workshop.id}/ratings",
        data={"_csrf": token, "year": "2026", "half": "H1", "party_leadership": "5", "organisation": "5",
              "service_support": "5", "prosperity_impact": "5"},
        headers=HTML,
    )  # fmt: skip
    assert r.status_code == 403
    assert await session.scalar(select(func.count()).select_from(StarRating)) == ratings_before


async def test_rating_form_names_the_bad_field_then_saves_and_redirects(client: Client, session: AsyncSession) -> None:
    cat = await factories.small_catalogue(session)
    wid = cat.workshop.id
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    ratings_before = await session.scalar(select(func.count()).select_from(StarRating))
    await session.commit()  # end the read (SQLite) without expiring the rows the test still uses
    token = await log_in(client, admin)
    form = {"_csrf": token, "year": "2026", "half": "H2", "party_leadership": "5", "organisation": "4",
            "service_support": "4", "prosperity_impact": "9"}  # fmt: skip
    # a score out of range: the form again, the error beside the field and in the summary by its label
    bad = await client.post(f"/admin/workshops/{wid}/ratings", data=form, headers=HTML)
    assert bad.status_code == 422
    assert '<a href="#prosperity_impact">带富成效</a>' in bad.text
    assert 'id="prosperity_impact-error"' in bad.text and 'value="9"' in bad.text
    assert await session.scalar(select(func.count()).select_from(StarRating)) == ratings_before
    await session.rollback()
    # corrected: 303 back to the workshop, which shows the rating (mean 4.25 rounds to 4 stars)
    ok = await client.post(f"/admin/workshops/{wid}/ratings", data={**form, "prosperity_impact": "4"}, headers=HTML)
    assert ok.status_code == 303 and ok.headers["location"] == f"/admin/workshops/{wid}?done=rated"
    page = (await client.get(ok.headers["location"], headers=HTML)).text
    assert "星级评定已保存。" in page and '<span class="stars">★★★★</span> 4 星' in page
    rating = await session.scalar(
        select(StarRating).where(StarRating.workshop_id == wid, StarRating.year == 2026, StarRating.half == "H2")
    )
    assert rating is not None and (rating.year, rating.half.value, rating.stars) == (2026, "H2", 4)


async def test_a_form_without_the_csrf_field_is_refused_and_changes_nothing(
    client: Client, session: AsyncSession
) -> None:
    cat = await factories.small_catalogue(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    ratings_before = await session.scalar(select(func.count()).select_from(StarRating))
    await session.commit()  # end the read (SQLite) without expiring the rows the test still uses
    await log_in(client, admin)
    r = await client.post(
        f"/admin/workshops/{cat.workshop.id}/ratings",
        data={"year": "2026", "half": "H1", "party_leadership": "5", "organisation": "5", "service_support": "5",
              "prosperity_impact": "5"},
        headers=HTML,
    )  # fmt: skip
    assert r.status_code == 403
    assert r.json()["errors"] == [{"field": "_csrf", "message": "missing or wrong CSRF token"}]
    assert await session.scalar(select(func.count()).select_from(StarRating)) == ratings_before


async def test_closing_a_month_from_the_page_then_settlement_and_links(client: Client, session: AsyncSession) -> None:
    ids = await brown_sugar_october(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    token = await log_in(client, admin)
    # when the admin starts the close
    r = await client.post("/admin/months/2026-10/close", data={"_csrf": token}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/admin/months/2026-10?done=started"
    # then the progress fragment (what htmx polls) reaches the last step and asks for a reload
    for _ in range(100):
        progress = await client.get("/admin/months/2026-10/progress", headers={**HTML, "hx-request": "true"})
        if progress.headers.get("hx-refresh") == "true":
            break
        await asyncio.sleep(0.1)
    assert progress.headers.get("hx-refresh") == "true"
    assert "第 8 / 8 步：结账完成" in progress.text
    assert await session.scalar(select(BenefitMonth.paid_out_fen)) == 38_000_000
    await session.rollback()
    # the month page shows the totals and the settlement, which opens as a page
    month = (await client.get("/admin/months/2026-10", headers=HTML)).text
    assert '<strong id="paid-out">¥380,000.00</strong>' in month
    assert f'href="/admin/months/2026-10/settlements/{ids["workshop"]}">知味红·红糖工坊</a>' in month
    report = (await client.get(f"/admin/months/2026-10/settlements/{ids['workshop']}", headers=HTML)).text
    assert '<td class="num" id="pool">¥100,000.00</td>' in report
    # a private link for 金存礼: shown once after the redirect, then it can be revoked
    made = await client.post(
        f"/admin/months/2026-10/statements/{ids['jin_cunli']}/links", data={"_csrf": token, "days": "7"}, headers=HTML
    )
    assert made.status_code == 303
    shown = (await client.get(made.headers["location"], headers=HTML)).text
    url = re.search(r'id="new-link-url">([^<]+)<', shown)
    assert url is not None and "/benefits/s/" in url.group(1)
    path = url.group(1)[url.group(1).index("/benefits/s/") :]
    assert (await client.get(path, headers=HTML)).status_code == 200
    assert 'id="new-link-url"' not in (await client.get("/admin/months/2026-10", headers=HTML)).text
    link_id = await session.scalar(select(StatementLink.id))
    await session.rollback()
    revoked = await client.post(f"/admin/links/{link_id}/revoke", data={"_csrf": token}, headers=HTML)
    assert revoked.status_code == 303 and revoked.headers["location"] == "/admin/months/2026-10?done=revoked"
    assert (await client.get(path, headers=HTML)).status_code == 404


async def test_closing_an_unfinished_month_needs_the_confirmation(client: Client, session: AsyncSession) -> None:
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    token = await log_in(client, admin)
    r = await client.post("/admin/months/2999-12/close", data={"_csrf": token}, headers=HTML)
    assert r.status_code == 422
    assert '<a href="#confirm_early">确认提前结账</a>' in r.text
    assert await session.scalar(select(func.count()).select_from(BenefitMonth)) == 0
