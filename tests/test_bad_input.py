"""Bad input on every write route: malformed or out-of-range bodies get 400/422 naming the field, never a 5xx."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from tests import factories as f
from tests.test_route_guards import admitted_roles, concrete, http_handlers

WRITE_METHODS = {"POST", "PUT", "PATCH"}


def takes_json_body(handler: Any) -> bool:
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    return "multipart" not in str(data.kwarg_definition or "").lower() and "UploadFile" not in str(data.annotation)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP-layer walk: one backend suffices
async def test_every_write_route_refuses_malformed_bodies_naming_the_field(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a caller of every role, so each route is called by one it admits
    users = {role: await f.user(session, role) for role in Role}
    await session.commit()
    checked = []
    for method, path, handler in http_handlers(app):
        if method not in WRITE_METHODS or not takes_json_body(handler):
            continue
        roles = admitted_roles(handler)
        role = Role.CENTRE_ADMIN if not roles or Role.CENTRE_ADMIN in roles else sorted(roles)[0]
        headers = {**f.auth(users[role]), "Content-Type": "application/json"}
        url = concrete(path)
        # when the body is not JSON, is the wrong shape, or carries an unknown field
        not_json = await client.request(method, url, content=b"{not json", headers=headers)
        wrong_shape = await client.request(method, url, content=b"[1, 2]", headers=headers)
        unknown = await client.request(method, url, json={"zz_unknown_field": 1}, headers=headers)
        # then each is refused with a JSON error body, never a server error
        for response in (not_json, wrong_shape, unknown):
            assert response.status_code in (400, 422), f"{method} {path}: {response.status_code} {response.text}"
            body = response.json()
            assert body["status_code"] == response.status_code and body["detail"]
        assert unknown.json()["errors"], f"{method} {path} did not name the field: {unknown.text}"
        named = " ".join(str(e["field"]) + str(e["message"]) for e in unknown.json()["errors"])
        assert re.search(r"zz_unknown_field|body|`\w+`", named), f"{method} {path}: {named}"
        checked.append(f"{method} {path}")
    assert len(checked) >= 15, checked


async def test_out_of_range_values_name_the_field(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given an admin and a catalogue
    cat = await f.small_catalogue(session)
    admin = await f.user(session, Role.CENTRE_ADMIN)
    await session.commit()
    body = {
        "workshop_id": cat.workshop.id,
        "brand_id": cat.sub_brand.id,
        "title": "红糖",
        "variants": [{"sku": "X-1", "name": "500g", "price_fen": -5}],
    }
    # when
    response = await client.post("/api/staff/products", json=body, headers=f.auth(admin))
    # then
    assert response.status_code == 400
    assert "price_fen" in response.text
    assert response.json()["errors"][0]["field"] is not None
