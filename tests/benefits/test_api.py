"""The benefits API: who may call what, bad input, CSV import with a rejected-rows report, the month close over
HTTP, statements as JSON/HTML/PDF/SMS/CSV, and private links (expiry, revocation)."""

from __future__ import annotations

import datetime as dt

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.benefits.models import MemberKind, StatementLink, WorkLog
from tests import factories
from tests.benefits.helpers import counts, member
from tests.benefits.test_seed_examples import brown_sugar_october

Client = AsyncTestClient[Litestar]


async def test_routes_refuse_anonymous_and_wrong_roles(client: Client, session: AsyncSession) -> None:
    # given
    buyer = await factories.user(session, Role.BUYER)
    manager = await factories.user(session, Role.WORKSHOP_MANAGER)
    await session.commit()
    # then
    assert (await client.post("/api/benefits/months/2026-10/close")).status_code == 401
    assert (await client.post("/api/benefits/months/2026-10/close", headers=factories.auth(buyer))).status_code == 403
    assert (await client.post("/api/benefits/months/2026-10/close", headers=factories.auth(manager))).status_code == 403
    assert (
        await client.post(
            "/api/benefits/members", json={"kind": "worker", "name": "x"}, headers=factories.auth(manager)
        )
    ).status_code == 403
    assert (await client.get("/api/benefits/statements/2026-10/1", headers=factories.auth(buyer))).status_code == 403
    assert (await client.get("/api/benefits/months/2026-10/statements.csv")).status_code == 401


async def test_manager_may_only_touch_own_workshop(client: Client, session: AsyncSession) -> None:
    # given a manager of another workshop
    ids = await brown_sugar_october(session)
    _, _, village = await factories.region_tree(session, "青田县", "仁庄镇", "小舟山村")
    other = await factories.workshop(session, village, "小舟山共富工坊")
    manager = await factories.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[other.id])
    await session.commit()
    headers = factories.auth(manager)
    before = await counts(session)
    # when / then
    body = {
        "member_id": ids["ye"],
        "workshop_id": ids["workshop"],
        "work_date": "2026-10-02",
        "task": "削蔗",
        "quantity": 3,
    }
    assert (await client.post("/api/benefits/work-logs", json=body, headers=headers)).status_code == 403
    assert (
        await client.post(f"/api/benefits/work-logs/{ids['pending']}/review", json={"approve": True}, headers=headers)
    ).status_code == 403
    csv_body = f"member_id,workshop_id,work_date,task,quantity\n{ids['ye']},{ids['workshop']},2026-10-02,削蔗,3\n"
    report = await client.post("/api/benefits/work-logs/import", content=csv_body.encode(), headers=headers)
    assert report.status_code == 200, report.text
    assert report.json()["imported"] == 0
    assert report.json()["rejected"][0]["row"] == 2
    assert await counts(session) == before


async def test_bad_input_is_refused_with_the_field_named(client: Client, session: AsyncSession) -> None:
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    headers = factories.auth(admin)
    bad_month = await client.post("/api/benefits/months/2026-13/close", headers=headers)
    assert bad_month.status_code == 422 and bad_month.json()["errors"][0]["field"] == "month"
    assert (
        await client.post("/api/benefits/members", json={"kind": "alien", "name": "x"}, headers=headers)
    ).status_code == 400
    assert (
        await client.post("/api/benefits/members", json={"kind": "worker", "name": ""}, headers=headers)
    ).status_code == 400
    log = await client.post(
        "/api/benefits/work-logs",
        json={"member_id": 999, "workshop_id": 1, "work_date": "2026-10-01", "task": "x", "quantity": 1},
        headers=headers,
    )
    assert log.status_code == 422 and log.json()["errors"][0]["field"] == "member_id"
    assert (
        await client.post("/api/benefits/work-logs/import", content=b"a,b\n1,2\n", headers=headers)
    ).status_code == 422
    assert (
        await client.post("/api/benefits/work-logs/import", content=b"\xff\xfe", headers=headers)
    ).status_code == 422
    assert (await client.get("/api/benefits/statements/2026-10/5", headers=headers)).status_code == 404


async def test_csv_import_keeps_good_rows_and_reports_rejected_ones(client: Client, session: AsyncSession) -> None:
    # given
    ids = await brown_sugar_october(session)
    manager = await factories.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[ids["workshop"]])
    await session.commit()
    ws, ye = ids["workshop"], ids["ye"]
    content = (
        f"member_id,workshop_id,work_date,task,quantity\n{ye},{ws},2026-10-03,削蔗,10\n"
        f"{ye},{ws},2026-10-03,跳舞,10\n{ye},{ws},10/03/2026,削蔗,10\n999,{ws},2026-10-03,削蔗,1\n"
        f"{ye},{ws},2026-10-04,包装,2\n"
    )
    # when
    response = await client.post(
        "/api/benefits/work-logs/import", content=content.encode(), headers=factories.auth(manager)
    )
    # then
    body = response.json()
    assert body["imported"] == 2
    assert [(r["row"], r["errors"][0].split(":")[0]) for r in body["rejected"]] == [
        (3, "task"),
        (4, "work_date"),
        (5, "member_id"),
    ]
    amounts = (await session.scalars(select(WorkLog.amount_fen).where(WorkLog.id.in_(body["log_ids"])))).all()
    assert sorted(amounts) == [2 * 2600, 10 * 2000]


async def test_close_over_http_then_statement_in_every_format(client: Client, session: AsyncSession) -> None:
    # given
    ids = await brown_sugar_october(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    member_user = await factories.user(session, Role.MEMBER)
    other_user = await factories.user(session, Role.MEMBER)
    own = await member(session, "金存礼的家", MemberKind.HOUSEHOLD, user_id=member_user.id)
    await session.commit()
    headers = factories.auth(admin)
    # when
    closed = await client.post("/api/benefits/months/2026-10/close", headers=headers)
    again = await client.post("/api/benefits/months/2026-10/close", headers=headers)
    # then
    assert closed.status_code == 200 and closed.json()["paid_out_fen"] == 38_000_000
    assert again.json()["already_closed"] is True
    collective = ids["collective"]
    st = await client.get(f"/api/benefits/statements/2026-10/{collective}", headers=headers)
    assert st.json()["total_fen"] == 8_000_000
    html = await client.get(f"/api/benefits/statements/2026-10/{collective}/html", headers=headers)
    assert "上坪村股份经济合作社" in html.text and "¥80,000.00" in html.text
    pdf = await client.get(f"/api/benefits/statements/2026-10/{collective}/pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf", pdf.text
    assert pdf.content.startswith(b"%PDF")
    assert b"/FontFile2" in pdf.content  # the CJK font is embedded
    sms = await client.get(f"/api/benefits/statements/2026-10/{collective}/sms", headers=headers)
    assert sms.text.startswith("【共富工坊】上坪村股份经济合作社，您2026年10月收益¥80,000.00")
    csv_text = (await client.get("/api/benefits/months/2026-10/statements.csv", headers=headers)).text
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("\ufeffmonth,member_id,member_name") and len(rows) == 1 + 5 + 1
    assert rows[-1].startswith("2026-10,,合计 total") and ",38000000,380000.00," in rows[-1]
    report = await client.get(f"/api/benefits/months/2026-10/settlements/{ids['workshop']}", headers=headers)
    assert report.json()["pool_fen"] == 10_000_000 and len(report.json()["payees"]) == 5
    # a member reads only their own statement
    assert (
        await client.get(f"/api/benefits/statements/2026-10/{collective}", headers=factories.auth(member_user))
    ).status_code == 403
    assert (
        await client.get(f"/api/benefits/statements/2026-10/{own.id}", headers=factories.auth(other_user))
    ).status_code == 403


async def test_private_link_opens_until_revoked_or_expired(client: Client, session: AsyncSession) -> None:
    # given a closed month and a link to the collective's statement
    ids = await brown_sugar_october(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    headers = factories.auth(admin)
    await client.post("/api/benefits/months/2026-10/close", headers=headers)
    made = (
        await client.post(
            f"/api/benefits/statements/2026-10/{ids['collective']}/links", json={"days": 7}, headers=headers
        )
    ).json()
    assert len(made["token"]) >= 40 and made["url"].endswith(f"/benefits/s/{made['token']}")
    # when / then: it opens without logging in, as a page and a PDF
    page = await client.get(f"/benefits/s/{made['token']}")
    assert page.status_code == 200 and "¥80,000.00" in page.text and page.headers["cache-control"].startswith("private")
    assert (await client.get(f"/benefits/s/{made['token']}/pdf")).content.startswith(b"%PDF")
    assert (await client.get("/benefits/s/not-a-token")).status_code == 404
    stored = await session.scalar(select(StatementLink.token_hash))
    assert stored != made["token"] and len(stored or "") == 64  # only the hash is stored
    await session.rollback()  # end the test's read so its later write does not meet a stale SQLite snapshot
    # revoked
    assert (await client.delete(f"/api/benefits/links/{made['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/benefits/s/{made['token']}")).status_code == 404
    # expired
    second = (
        await client.post(f"/api/benefits/statements/2026-10/{ids['collective']}/links", json={}, headers=headers)
    ).json()
    assert (await client.get(f"/benefits/s/{second['token']}")).status_code == 200
    await session.execute(
        update(StatementLink)
        .where(StatementLink.id == second["id"])
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    await session.commit()
    assert (await client.get(f"/benefits/s/{second['token']}")).status_code == 404
    assert await session.scalar(select(func.count()).select_from(StatementLink)) == 2
