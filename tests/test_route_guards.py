"""The route-guard walk: every route in the OpenAPI schema either is public or refuses an anonymous caller (401)
and a caller of a role it does not admit (403)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.auth import RoleGuard
from tests import factories as f


def http_handlers(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue  # the OpenAPI documents are public by design
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in ("HEAD", "OPTIONS"):
                    continue
                out.append((method, route.path, handler))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+(:[a-z]+)?\}", "1", path)


def admitted_roles(handler: HTTPRouteHandler) -> frozenset[Role] | None:
    """None when the handler is public; the empty set when any logged-in caller is admitted."""
    if handler.opt.get("public"):
        return None
    roles: set[Role] = set()
    guarded = False
    for guard in handler.resolve_guards():
        if isinstance(guard, RoleGuard):
            guarded = True
            if guard.roles:
                roles = set(guard.roles) if not roles else roles & guard.roles
    assert guarded, f"{handler} is neither public nor guarded"
    return frozenset(roles)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP-layer walk: one backend suffices
def test_every_route_is_public_or_guarded(app: Litestar) -> None:
    schema_paths = set(app.openapi_schema.to_schema()["paths"])
    walked = set()
    for _method, path, handler in http_handlers(app):
        admitted_roles(handler)  # asserts a guard or the public mark
        if handler.include_in_schema:
            walked.add(re.sub(r":[a-z]+\}", "}", path))
    assert schema_paths <= walked | {p for p in schema_paths if p.startswith("/schema")}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP-layer walk: one backend suffices
async def test_non_public_routes_refuse_anonymous_and_wrong_roles(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given one account of every role
    users = {role: await f.user(session, role) for role in Role}
    await session.commit()
    checked = 0
    for method, path, handler in http_handlers(app):
        roles = admitted_roles(handler)
        if roles is None:
            continue
        url = concrete(path)
        kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        # when anonymous
        anonymous = await client.request(method, url, **kwargs)
        # then
        assert anonymous.status_code == 401, f"{method} {path} answered {anonymous.status_code} to anonymous"
        for role, user in users.items():
            if roles and role not in roles:
                denied = await client.request(method, url, headers=f.auth(user), **kwargs)
                assert denied.status_code == 403, f"{method} {path} answered {denied.status_code} to {role}"
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.bad"])
async def test_a_bad_bearer_token_is_401(client: AsyncTestClient[Litestar], token: str) -> None:
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP-layer walk: one backend suffices
def test_openapi_documents_every_routes_errors(app: Litestar) -> None:
    schema = app.openapi_schema.to_schema()
    guarded = {
        (method, re.sub(r":[a-z]+\}", "}", path))
        for method, path, handler in http_handlers(app)
        if admitted_roles(handler) is not None
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"} or path.startswith("/schema"):
                continue
            codes = set(operation["responses"])
            assert "400" in codes, f"{method} {path}"
            if (method.upper(), path) in guarded:
                assert {"401", "403"} <= codes, f"{method} {path}: {codes}"
            if "{" in path:
                assert "404" in codes, f"{method} {path}: {codes}"
            if method in {"post", "put", "patch"}:
                assert {"409", "422"} <= codes, f"{method} {path}: {codes}"
