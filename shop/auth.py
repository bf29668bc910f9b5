"""Authentication (JWT bearer for the API, the same token in an HttpOnly cookie for pages) and role guards.

Authentication is optional at the middleware: it attaches the caller (or None) to every request. Routes say who
may call them with a guard from `requires`; a route without one must be marked public (`PUBLIC`). The route-guard
test walks every route and holds each to what it declares.
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shop import driver
from shop.accounts.models import Role, User, WorkshopManagerScope

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


# Tokens whose signature this process has checked: {(token, secret): claims}. A request decodes its token twice (rate
# limit key, then the caller), and a buyer sends the same token for hours; checking the signature and parsing the
# claims was a third of a millisecond each time. Only valid tokens are kept (a flood of forged ones fills nothing),
# expiry is checked on every use, and the bound is crude: the dict is emptied when full.
VERIFIED_TOKENS_MAX = 20_000
_verified: dict[tuple[str, str], dict[str, Any]] = {}


def decode_token(token: str, secret: str) -> dict[str, Any] | None:
    """The token's claims when its signature is good and it has not expired; None otherwise."""
    claims = _verified.get((token, secret))
    if claims is None:
        try:
            claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["sub", "exp"]})
        except jwt.PyJWTError:
            return None
        if len(_verified) >= VERIFIED_TOKENS_MAX:
            _verified.clear()
        _verified[(token, secret)] = claims
    elif claims["exp"] <= time.time():  # PyJWT's own rule: expired once `exp` is not in the future
        _verified.pop((token, secret), None)
        return None
    return dict(claims)


_ACTIVE_ACCOUNT = select(User.id, User.username, User.role, User.display_name).where(
    User.id == bindparam("user_id"), User.is_active.is_(True)
)  # built once: building a statement cost more CPU than running it


async def load_caller(session: AsyncSession, user_id: int) -> Caller | None:
    # Columns, not the entity: the account's workshop scope is read only for a workshop manager (one query for
    # every other caller, on each cache miss of every request).
    # A lone read: on PostgreSQL it needs no BEGIN and ROLLBACK around it (a cache miss of the auth middleware).
    found_users = await driver.fetch_named(
        await session.connection(), _ACTIVE_ACCOUNT, {"user_id": user_id}, begin=False
    )
    if not found_users:
        return None
    user = found_users[0]
    workshop_ids: frozenset[int] = frozenset()
    if user.role is Role.WORKSHOP_MANAGER:
        found = await session.scalars(
            select(WorkshopManagerScope.workshop_id).where(WorkshopManagerScope.user_id == user_id)
        )
        workshop_ids = frozenset(found)
    return Caller(user.id, user.username, user.role, user.display_name, workshop_ids)


# How long a process may go on trusting an account it has looked up. A change made through this process (any
# SQLAlchemy session that writes the account or its workshop scope: disabling it, a new role or scope) drops the
# entry at once; another process (a second uvicorn worker) sees the change within this bound.
CALLER_TTL_SECONDS = 5.0
CALLER_CACHE_MAX = 50_000


class CallerCache:
    """Accounts looked up by the auth middleware, kept for at most CALLER_TTL_SECONDS (one per app instance)."""

    def __init__(self, ttl: float = CALLER_TTL_SECONDS, max_entries: int = CALLER_CACHE_MAX) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[int, tuple[float, Caller | None]] = {}
        _caches.add(self)

    def get(self, user_id: int) -> tuple[bool, Caller | None]:
        """(found, caller): a disabled or missing account is remembered too, as None."""
        entry = self._entries.get(user_id)
        if entry is None:
            return False, None
        if entry[0] <= time.monotonic():
            self._entries.pop(user_id, None)
            return False, None
        return True, entry[1]

    def put(self, user_id: int, caller: Caller | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # simplest bound; refilling costs one lookup per active account
        self._entries[user_id] = (time.monotonic() + self.ttl, caller)

    def forget(self, user_ids: set[int]) -> None:
        for user_id in user_ids:
            self._entries.pop(user_id, None)


_caches: weakref.WeakSet[CallerCache] = weakref.WeakSet()


def forget_callers(user_ids: set[int]) -> None:
    """Drop these accounts from every caller cache in this process."""
    for cache in list(_caches):
        cache.forget(user_ids)


def _touched_accounts(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User) and obj.id is not None:
            ids.add(obj.id)
        elif isinstance(obj, WorkshopManagerScope) and obj.user_id is not None:
            ids.add(obj.user_id)
    return ids


@event.listens_for(Session, "after_flush")
def _note_account_writes(session: Session, _ctx: Any) -> None:
    # after the flush the new rows have their ids, and new/dirty/deleted still list what was flushed
    touched = _touched_accounts(session)
    if touched:
        session.info.setdefault("hub_accounts_touched", set()).update(touched)


@event.listens_for(Session, "after_commit")
def _forget_written_accounts(session: Session) -> None:
    touched = session.info.pop("hub_accounts_touched", None)
    if touched:
        forget_callers(touched)


@event.listens_for(Session, "after_rollback")
def _drop_noted_accounts(session: Session) -> None:
    session.info.pop("hub_accounts_touched", None)


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
        user_id = int(claims["sub"])
        cache: CallerCache | None = getattr(state, "caller_cache", None)
        if cache is None:
            cache = state.caller_cache = CallerCache()
        found, caller = cache.get(user_id)
        if not found:
            factory: async_sessionmaker[AsyncSession] = state.session_factory
            async with factory() as session:
                caller = await load_caller(session, user_id)
            cache.put(user_id, caller)
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
# confirms counter payments (routes that name Role.KIOSK), and gets 403 on personal routes (orders, checkout).
requires_login = requires(*(role for role in Role if role is not Role.KIOSK))
# Any account at all, the kiosk included: only "who am I" (a kiosk screen shows which device it is).
requires_account = requires(*Role)
requires_admin = requires(Role.CENTRE_ADMIN)
requires_staff = requires(Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER)


def provide_caller(request: Any) -> Caller | None:
    return request.scope.get("user")


def ensure_workshop_scope(caller: Caller, workshop_id: int) -> None:
    if not caller.can_manage_workshop(workshop_id):
        raise PermissionDeniedException(f"You do not manage workshop {workshop_id}.")
