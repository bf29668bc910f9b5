"""The PDF carries real Chinese text (embedded glyphs and a ToUnicode map), the share register answers for any
date, and members link only to member or streamer accounts."""

from __future__ import annotations

import datetime as dt
import re
import zlib

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.benefits.models import LineKind, MemberKind
from shop.benefits.schemas import LineOut, StatementOut
from shop.benefits.services.pdf import cjk_font, render_pdf
from tests import factories
from tests.benefits.test_seed_examples import brown_sugar_october


def _streams(pdf: bytes) -> list[bytes]:
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def test_pdf_embeds_every_chinese_glyph_it_uses() -> None:
    # given a statement with names and sources in Chinese (including a rare name character: 喆)
    line = LineOut(
        id=1,
        kind=LineKind.DIVIDEND,
        workshop_id=1,
        workshop_name="知味红·红糖工坊",
        source_id=None,
        on_date=dt.date(2026, 10, 31),
        label="入股分红",
        quantity=80,
        rate=100,
        reference=10_000_000,
        amount_fen=8_000_000,
        description="知味红·红糖工坊：持股 80/100 股，分红池 ¥100,000.00",
    )
    st = StatementOut(
        month="2026-10",
        member_id=3,
        member_name="上坪村股份经济合作社 叶喆",
        member_kind=MemberKind.COLLECTIVE,
        lines=[line],
        total_fen=8_000_000,
        ytd_fen=8_000_000,
        sms="",
    )
    # when
    pdf = render_pdf(st)
    # then every character is in the font, and the ToUnicode map names them so the text can be found and copied
    text = st.member_name + line.description + line.workshop_name
    assert {ord(c) for c in text} <= cjk_font().cmap.keys()
    unicode_map = b"".join(s for s in _streams(pdf) if b"beginbfchar" in s)
    for char in "上坪村股份经济合作社叶喆知味红糖工坊分红池":
        assert f"<{ord(char):04X}>".encode() in unicode_map, char
    assert pdf.count(b"/FontFile2") == 1


async def test_share_register_answers_for_any_date(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given the brown-sugar register: collective 80 from Jan 1, household 20 from Oct 31, 叶小梅 50 from Nov 1
    ids = await brown_sugar_october(session)
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    url = f"/api/benefits/workshops/{ids['workshop']}/register"
    headers = factories.auth(admin)
    # then
    oct30 = (await client.get(url, params={"on": "2026-10-30"}, headers=headers)).json()
    oct31 = (await client.get(url, params={"on": "2026-10-31"}, headers=headers)).json()
    nov1 = (await client.get(url, params={"on": "2026-11-01"}, headers=headers)).json()
    assert oct30["holdings"] == [{"member_id": ids["collective"], "shares": 80}]
    assert oct31["total_shares"] == 100 and nov1["total_shares"] == 150
    # a holder cannot go below zero shares
    sell = await client.post(
        "/api/benefits/shares",
        headers=headers,
        json={
            "workshop_id": ids["workshop"],
            "member_id": ids["household"],
            "effective_on": "2026-11-02",
            "delta_shares": -21,
            "contribution": "money",
        },
    )
    assert sell.status_code == 422 and sell.json()["errors"][0]["field"] == "delta_shares"


async def test_member_links_only_to_member_or_streamer_accounts(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    admin = await factories.user(session, Role.CENTRE_ADMIN)
    buyer = await factories.user(session, Role.BUYER)
    streamer = await factories.user(session, Role.STREAMER)
    await session.commit()
    headers = factories.auth(admin)
    refused = await client.post(
        "/api/benefits/members", headers=headers, json={"kind": "worker", "name": "金存礼", "user_id": buyer.id}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "user_id"
    made = await client.post(
        "/api/benefits/members",
        headers=headers,
        json={"kind": "streamer", "name": "村播小叶", "user_id": streamer.id, "delivery": "sms"},
    )
    assert made.status_code == 201 and made.json()["user_id"] == streamer.id
    twice = await client.post(
        "/api/benefits/members", headers=headers, json={"kind": "streamer", "name": "又一个", "user_id": streamer.id}
    )
    assert twice.status_code == 409
