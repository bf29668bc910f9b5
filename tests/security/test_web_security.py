"""Web security at the HTTP layer: CSRF double-submit, cookie flags, security headers, upload content checks.

These are properties of the middleware and the HTTP layer, not of the database, so they run on SQLite only.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.models import ProductImage
from shop.accounts.models import Role
from shop.app import create_app
from shop.cart.models import CartLine
from shop.settings import Settings
from shop.web.csrf import CSRF_COOKIE
from tests import factories as f

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # HTTP-layer properties: one backend

TOKEN = "t" * 43  # a well-formed double-submit token (the middleware mints 43-character ones)


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def cart_lines(session: AsyncSession) -> int:
    count = int(await session.scalar(select(func.count()).select_from(CartLine)) or 0)
    await session.commit()
    return count


async def session_cookie(client: AsyncTestClient[Litestar], username: str) -> str:
    response = await client.post("/api/auth/login", json={"username": username, "password": f.PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # each test sets exactly the cookies it means to send
    return str(response.json()["access_token"])


# --- CSRF ---------------------------------------------------------------------------------------------------------


@SQLITE
async def test_a_cookie_authenticated_write_without_the_token_is_refused_and_changes_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a product and a visitor whose anonymous cart is held in the hub_cart cookie
    cat = await f.small_catalogue(session)
    cookies = {"hub_cart": "c" * 40, CSRF_COOKIE: TOKEN}
    # when a cross-site form posts to the cart without the token (JSON and form-encoded)
    json_post = await client.post(
        "/api/cart/lines", json={"variant_id": cat.product.variant.id, "quantity": 1}, cookies=cookies
    )
    form_post = await client.post("/api/cart/lines", data={"variant_id": "1"}, cookies=cookies)
    wrong = await client.post(
        "/api/cart/lines",
        json={"variant_id": cat.product.variant.id},
        cookies=cookies,
        headers={"X-CSRF-Token": "x" * 43},
    )
    # then each is refused with 403 naming the field, and no cart line exists
    for response in (json_post, form_post, wrong):
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == [{"field": "_csrf", "message": "missing or wrong CSRF token"}]
    assert await cart_lines(session) == 0


@SQLITE
async def test_a_cookie_without_a_csrf_cookie_is_refused_even_with_a_header(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a forged request that invents a header value but cannot set our csrf cookie
    cat = await f.small_catalogue(session)
    response = await client.post(
        "/api/cart/lines",
        json={"variant_id": cat.product.variant.id},
        cookies={"hub_cart": "c" * 40},
        headers={"X-CSRF-Token": TOKEN},
    )
    # then
    assert response.status_code == 403
    assert await cart_lines(session) == 0


@SQLITE
async def test_the_header_token_lets_a_cookie_write_through(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    cat = await f.small_catalogue(session)
    # when htmx sends the X-CSRF-Token header matching the cookie
    response = await client.post(
        "/api/cart/lines",
        json={"variant_id": cat.product.variant.id, "quantity": 2},
        cookies={"hub_cart": "c" * 40, CSRF_COOKIE: TOKEN},
        headers={"X-CSRF-Token": TOKEN},
    )
    # then the line is added
    assert response.status_code == 201, response.text
    assert [line["quantity"] for line in response.json()["lines"]] == [2]
    assert await cart_lines(session) == 1


@SQLITE
async def test_the_form_field_token_lets_a_page_form_through(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a logged-in page session
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    token = await session_cookie(client, buyer.username)
    cookies = {"hub_session": token, CSRF_COOKIE: TOKEN}
    # when the log-out form posts without, then with, the hidden _csrf field
    refused = await client.post("/logout", data={"other": "1"}, cookies=cookies, follow_redirects=False)
    accepted = await client.post("/logout", data={"_csrf": TOKEN}, cookies=cookies, follow_redirects=False)
    # then
    assert refused.status_code == 403
    assert accepted.status_code == 303
    assert 'hub_session=""' in accepted.headers["set-cookie"] or "hub_session=;" in accepted.headers["set-cookie"]


@SQLITE
async def test_a_multipart_form_carries_the_token_in_its_field(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    # given a workshop manager logged in by cookie, on a page uploading a product photo
    cat = await f.small_catalogue(session)
    manager = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.workshop.id])
    await session.commit()
    token = await session_cookie(client, manager.username)
    cookies = {"hub_session": token, CSRF_COOKIE: TOKEN}
    url = f"/api/staff/products/{cat.product.product.id}/images"
    files = {"file": ("photo.png", png_bytes(), "image/png")}
    # when the multipart form lacks the token, then carries it as the first field
    refused = await client.post(url, files=files, data={"alt": "红糖"}, cookies=cookies)
    accepted = await client.post(url, files=files, data={"_csrf": TOKEN, "alt": "红糖"}, cookies=cookies)
    # then only the second is stored
    assert refused.status_code == 403, refused.text
    assert accepted.status_code == 201, accepted.text
    assert await session.scalar(select(func.count()).select_from(ProductImage)) == 1


@SQLITE
async def test_the_bearer_api_is_unaffected_by_csrf(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    # given a machine client with a bearer token (which a forged cross-site form cannot send)
    cat = await f.small_catalogue(session)
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    # when it writes without any CSRF token, even with a stray credential cookie present
    response = await client.post(
        "/api/cart/lines",
        json={"variant_id": cat.product.variant.id},
        headers=f.auth(buyer),
        cookies={"hub_cart": "c" * 40},
    )
    # then the write goes through
    assert response.status_code == 201, response.text


@SQLITE
async def test_safe_methods_need_no_token(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    response = await client.get("/api/cart", cookies={"hub_cart": "c" * 40})
    assert response.status_code == 200


# --- cookies ------------------------------------------------------------------------------------------------------


def cookie_flags(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]} | {
        part.strip().lower() for part in set_cookie.split(";")[1:] if part.strip().lower().startswith("samesite")
    }


@SQLITE
async def test_session_cart_and_csrf_cookies_are_httponly_and_samesite(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    cat = await f.small_catalogue(session)
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    # when logging in, adding to an anonymous cart and opening the log-in page
    login = await client.post("/api/auth/login", json={"username": buyer.username, "password": f.PASSWORD})
    client.cookies.clear()
    cart = await client.post("/api/cart/lines", json={"variant_id": cat.product.variant.id})
    client.cookies.clear()
    page = await client.get("/login")
    # then the credential cookies are HttpOnly and SameSite=Lax, and over plain HTTP (development) not Secure
    session_flags = cookie_flags(login.headers["set-cookie"])
    cart_flags = cookie_flags(cart.headers["set-cookie"])
    assert {"httponly", "samesite=lax", "path"} <= session_flags and "secure" not in session_flags
    assert {"httponly", "samesite=lax", "path"} <= cart_flags and "secure" not in cart_flags
    # the CSRF cookie must be readable by the page's script (htmx copies it), so it is SameSite but not HttpOnly
    csrf = [c for c in page.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE + "=")]
    assert len(csrf) == 1 and "samesite=lax" in cookie_flags(csrf[0])
    assert len(csrf[0].split(";")[0].split("=", 1)[1]) >= 43  # ≥ 256 bits of randomness, urlsafe-base64


@SQLITE
async def test_cookies_are_secure_behind_tls(settings: Settings, session: AsyncSession, tmp_path: Path) -> None:
    # given the hub configured for TLS (SECURE_COOKIES=true) and reached through an HTTPS proxy
    cat = await f.small_catalogue(session)
    buyer = await f.user(session, Role.BUYER)
    await session.commit()
    settings.app = settings.app.model_copy(update={"secure_cookies": True})
    app = create_app(settings)
    https = {"X-Forwarded-Proto": "https"}
    async with AsyncTestClient(app=app) as client:
        login = await client.post(
            "/api/auth/login", json={"username": buyer.username, "password": f.PASSWORD}, headers=https
        )
        client.cookies.clear()
        cart = await client.post("/api/cart/lines", json={"variant_id": cat.product.variant.id}, headers=https)
        client.cookies.clear()
        page = await client.get("/login", headers=https)
    await app.state.engine.dispose()
    # then every cookie carries Secure, and the response carries HSTS
    assert "secure" in cookie_flags(login.headers["set-cookie"])
    assert "secure" in cookie_flags(cart.headers["set-cookie"])
    csrf = [c for c in page.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE + "=")]
    assert "secure" in cookie_flags(csrf[0])
    assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


# --- headers ------------------------------------------------------------------------------------------------------


def csp(response: Any) -> dict[str, str]:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";") if d.strip()]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives}


@SQLITE
@pytest.mark.parametrize("path", ["/login", "/api/brands", "/health", "/no-such-page"])
async def test_security_headers_on_pages_api_and_errors(client: AsyncTestClient[Litestar], path: str) -> None:
    response = await client.get(path, headers={"Accept": "text/html"})
    policy = csp(response)
    # no inline script anywhere; only Stripe.js (the online payment page) from outside
    assert policy["script-src"] == "'self' https://js.stripe.com"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # plain HTTP (development): no HSTS, which would pin a browser to HTTPS on a host that has none
    assert "strict-transport-security" not in response.headers


@SQLITE
async def test_hsts_only_behind_tls(client: AsyncTestClient[Litestar]) -> None:
    plain = await client.get("/health")
    proxied = await client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain.headers
    assert proxied.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_templates_have_no_inline_scripts_or_handlers() -> None:
    """script-src 'self' holds only while no template carries inline script; this keeps it that way."""
    import re

    roots = [Path("shop"), Path("livestream"), Path("logistics"), Path("catalog"), Path("search")]
    offenders = []
    for root in roots:
        for template in root.rglob("*.html"):
            text = template.read_text(encoding="utf-8")
            inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) + re.findall(r"\son[a-z]+\s*=", text)
            inline += re.findall(r"javascript:", text, flags=re.I)
            if inline:
                offenders.append(f"{template}: {inline}")
    assert offenders == []


# --- uploads ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def manager_upload(session: AsyncSession) -> tuple[str, dict[str, str]]:
    cat = await f.small_catalogue(session)
    manager = await f.user(session, Role.WORKSHOP_MANAGER, workshop_ids=[cat.workshop.id])
    await session.commit()
    return f"/api/staff/products/{cat.product.product.id}/images", f.auth(manager)


@SQLITE
@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("page.png", b"<html><script>alert(1)</script></html>", "image/png"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif"),
        ("half.png", png_bytes()[:40], "image/png"),
        ("poly.png", png_bytes() + b"<html><script>alert(document.cookie)</script></html>", "image/png"),
        ("poly.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20 + b"<script>alert(1)</script>", "image/jpeg"),
        ("empty.png", b"", "image/png"),
    ],
)
async def test_uploads_are_checked_by_content(
    client: AsyncTestClient[Litestar],
    session: AsyncSession,
    manager_upload: tuple[str, dict[str, str]],
    name: str,
    content: bytes,
    declared: str,
) -> None:
    url, headers = manager_upload
    # when the file is not a JPEG/PNG/WebP by its bytes, is truncated, or smuggles a page after the image
    response = await client.post(url, files={"file": (name, content, declared)}, headers=headers)
    # then 422 naming the file, and nothing stored
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert await session.scalar(select(func.count()).select_from(ProductImage)) == 0


@SQLITE
async def test_an_image_over_the_size_limit_is_refused(
    settings: Settings, session: AsyncSession, manager_upload: tuple[str, dict[str, str]]
) -> None:
    # given a 2 KB upload limit
    settings.app = settings.app.model_copy(update={"upload_max_bytes": 2048})
    app = create_app(settings)
    url, headers = manager_upload
    noise = Image.frombytes("RGB", (40, 40), random.Random(1).randbytes(40 * 40 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    big = buffer.getvalue()  # a few KB: over the limit, under the request body cap
    huge = b"\x89PNG" + b"\x00" * (2048 + 70 * 1024)  # over the request body cap itself
    async with AsyncTestClient(app=app) as client:
        over = await client.post(url, files={"file": ("big.png", big, "image/png")}, headers=headers)
        capped = await client.post(url, files={"file": ("huge.png", huge, "image/png")}, headers=headers)
    await app.state.engine.dispose()
    # then the first is 422 naming the file, the second 413 before it is read; nothing stored
    assert len(big) > 2048
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "file"
    assert capped.status_code == 413
    assert await session.scalar(select(func.count()).select_from(ProductImage)) == 0


@SQLITE
async def test_an_accepted_image_is_served_as_an_image_never_as_a_page(
    client: AsyncTestClient[Litestar], session: AsyncSession, manager_upload: tuple[str, dict[str, str]]
) -> None:
    url, headers = manager_upload
    # given an accepted upload whose name claims to be a web page
    uploaded = await client.post(url, files={"file": ("evil.html", png_bytes(), "text/html")}, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    # when it is fetched
    served = await client.get(uploaded.json()["url"])
    # then it is an image by its content, with nosniff and an extension chosen by the hub
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert uploaded.json()["url"].endswith(".png")


@SQLITE
@pytest.mark.parametrize("filename", ["..%2F..%2Fetc%2Fpasswd", "..%5Chub.sqlite3", "%2e%2e%2fsettings.py"])
async def test_media_paths_cannot_escape_the_upload_directory(client: AsyncTestClient[Litestar], filename: str) -> None:
    response = await client.get(f"/media/products/{filename}")
    assert response.status_code in (400, 404)
