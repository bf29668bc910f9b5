"""Account endpoints: sign up, log in/out, who am I, and user management for centre admins."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.datastructures import Cookie
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.accounts.models import Role
from shop.accounts.schemas import CreateUserRequest, LoginRequest, RegisterRequest, TokenOut, UpdateUserRequest, UserOut
from shop.accounts.services import AccountService, user_out
from shop.auth import PUBLIC, SESSION_COOKIE, Caller, requires_account, requires_admin
from shop.deps import Page
from shop.ratelimit import LOGIN, limited
from shop.settings import Settings

ERRORS_401 = {401: "Not logged in"}


class UserPage(msgspec.Struct):
    items: list[UserOut]
    total: int
    page: int
    per_page: int


class DeviceTokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=730)] = 365


class AuthController(Controller):
    path = "/api/auth"
    tags = ["accounts"]

    @post("/register", opt=PUBLIC, summary="Sign up as a buyer", status_code=201, raises=[], responses=None)
    async def register(self, db_session: AsyncSession, data: RegisterRequest) -> UserOut:
        """Creates a buyer account. 409 when the username is taken; 400 when a field is invalid."""
        return await AccountService(db_session).register(data)

    @post(
        "/login",
        opt={**PUBLIC, **limited(LOGIN)},
        summary="Log in (returns a bearer token and sets the page session cookie)",
        status_code=200,
    )
    async def login(self, db_session: AsyncSession, settings: Settings, data: LoginRequest) -> Response[TokenOut]:
        """401 on a wrong username or password; 429 after too many attempts from one address."""
        ttl = dt.timedelta(minutes=settings.app.jwt_ttl_minutes)
        token = await AccountService(db_session).login(data.username, data.password, settings.app.secret_key, ttl)
        cookie = Cookie(
            key=SESSION_COOKIE,
            value=token.access_token,
            httponly=True,
            samesite="lax",
            secure=settings.app.secure_cookies,
            max_age=int(ttl.total_seconds()),
            path="/",
        )
        return Response(token, cookies=[cookie])

    @post("/logout", opt=PUBLIC, summary="Log out of the page session", status_code=200)
    async def logout(self) -> Response[dict[str, str]]:
        return Response({"status": "logged_out"}, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @get("/me", guards=[requires_account], summary="The logged-in account (any role, the kiosk device included)")
    async def me(self, db_session: AsyncSession, caller: Caller) -> UserOut:
        return user_out(await AccountService(db_session).get(caller.id))


class UserAdminController(Controller):
    path = "/api/admin/users"
    tags = ["accounts"]
    guards = [requires_admin]

    @get("/", summary="List accounts (centre admin)")
    async def list_users(
        self,
        db_session: AsyncSession,
        paging: Page,
        role: Role | None = Parameter(query="role", default=None, description="Only this role"),
    ) -> UserPage:
        items, total = await AccountService(db_session).list_users(role, paging.per_page, paging.offset)
        return UserPage(items, total, paging.page, paging.per_page)

    @post("/", summary="Create an account (centre admin)", status_code=201)
    async def create_user(self, db_session: AsyncSession, caller: Caller, data: CreateUserRequest) -> UserOut:
        return await AccountService(db_session).create_user(caller, data)

    @patch("/{user_id:int}", summary="Change an account (centre admin)")
    async def update_user(
        self, db_session: AsyncSession, caller: Caller, user_id: int, data: UpdateUserRequest
    ) -> UserOut:
        return await AccountService(db_session).update_user(caller, user_id, data)

    @post("/{user_id:int}/device-token", summary="Issue a kiosk device token (centre admin)", status_code=201)
    async def device_token(
        self, db_session: AsyncSession, caller: Caller, settings: Settings, user_id: int, data: DeviceTokenRequest
    ) -> TokenOut:
        return await AccountService(db_session).issue_device_token(
            caller, user_id, settings.app.secret_key, dt.timedelta(days=data.days)
        )


route_handlers = [AuthController, UserAdminController]
