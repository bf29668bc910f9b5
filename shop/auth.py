"""Authentication (JWT bearer for the API, the same token in an HttpOnly cookie for pages) and role guards.

Authentication is optional at the middleware: it attaches the caller (or None) to every request. Routes say who
may call them with a guard from `requires`; a route without one must be marked public (`PUBLIC`). The route-guard
test walks every route and holds each to what it declares.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shop.accounts.models import Role, User

SESSION_COOKIE = "hub_session"
JWT_ALGORITHM = "HS256"
PUBLIC: dict[str, Any] = {"public": True}

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the user's id, role and (for workshop managers) the workshops they manage."""

    id: int
    username: str
    role: Role
    display_name: str = ""
    workshop_ids: frozenset[int] = field(default_factory=frozenset)

    def can_manage_workshop(self, workshop_id: int) -> bool:
        if self.role is Role.CENTRE_ADMIN:
            return True
        return self.role is Role.WORKSHOP_MANAGER and workshop_id in self.workshop_ids

    @property
    def is_admin(self) -> bool:
        return self.role is Role.CENTRE_ADMIN


def issue_token(user_id: int, role: Role, secret: str, ttl: dt.timedelta, **extra: Any) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(user_id), "role": role.value, "iat": now, "exp": now + ttl, **extra}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_token(token: str, secret: str) -> dict[str, Any] | None:
    try:
        return jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None


async def load_caller(session: AsyncSession, user_id: int) -> Caller | None:
    user = await session.scalar(select(User).where(User.id == user_id, User.is_active.is_(True)))
    if user is None:
        return None
    return Caller(user.id, user.username, user.role, user.display_name, user.workshop_ids)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return connection.cookies.get(SESSION_COOKIE)


class OptionalJWTAuthMiddleware(AbstractAuthenticationMiddleware):
    """Attach the caller to the request when a valid token is present; never refuse here (guards do that)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = bearer_token(connection)
        if not token:
            return AuthenticationResult(user=None, auth=None)
        state = connection.app.state
        claims = decode_token(token, state.settings.app.secret_key)
        if claims is None:
            if connection.headers.get("authorization"):
                raise NotAuthorizedException("The access token is invalid or has expired; please log in again.")
            return AuthenticationResult(user=None, auth=None)  # a stale page cookie: treat as signed out
        factory: async_sessionmaker[AsyncSession] = state.session_factory
        async with factory() as session:
            caller = await load_caller(session, int(claims["sub"]))
        if caller is None and connection.headers.get("authorization"):
            raise NotAuthorizedException("The account for this token no longer exists or is disabled.")
        return AuthenticationResult(user=caller, auth=claims if caller else None)


class RoleGuard:
    """A guard admitting the given roles; `roles` is read by the route-guard walk."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)
        self.__name__ = "requires_" + "_or_".join(sorted(r.value for r in roles)) if roles else "requires_login"

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.scope.get("user")
        if caller is None:
            raise NotAuthorizedException("Please log in to do this.")
        if self.roles and caller.role not in self.roles:
            raise PermissionDeniedException(
                f"Your role ({caller.role.value}) may not do this; it needs: {', '.join(sorted(self.roles))}."
            )


def requires(*roles: Role) -> RoleGuard:
    """Guard: the caller must be logged in and (if roles are given) hold one of them."""
    return RoleGuard(*roles)


# Any person logged in. The showroom kiosk's device token is not a person: it browses, builds anonymous carts and
# confirms counter payments (routes that name Role.KIOSK), and gets 403 on personal routes (orders, checkout, me).
requires_login = requires(*(role for role in Role if role is not Role.KIOSK))
requires_admin = requires(Role.CENTRE_ADMIN)
requires_staff = requires(Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER)


def provide_caller(request: Any) -> Caller | None:
    return request.scope.get("user")


def ensure_workshop_scope(caller: Caller, workshop_id: int) -> None:
    if not caller.can_manage_workshop(workshop_id):
        raise PermissionDeniedException(f"You do not manage workshop {workshop_id}.")
