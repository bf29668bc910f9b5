"""Account use cases: sign up, log in, manage staff and devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop import audit
from shop.accounts.models import Role, User, WorkshopManagerScope
from shop.accounts.schemas import CreateUserRequest, RegisterRequest, TokenOut, UpdateUserRequest, UserOut
from shop.auth import Caller, hash_password, issue_token, verify_password
from shop.db import utcnow
from shop.errors import Conflict, InvalidInput, NotFound, Unauthorized


def user_out(user: User) -> UserOut:
    return UserOut(user.id, user.username, user.display_name, user.role, user.is_active, sorted(user.workshop_ids))


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _ensure_username_free(self, username: str) -> None:
        taken = await self.session.scalar(select(func.count()).where(func.lower(User.username) == username.lower()))
        if taken:
            raise Conflict(f"The username {username!r} is already taken.", field="username")

    async def _ensure_workshops_exist(self, workshop_ids: list[int]) -> None:
        from catalog.models import Workshop

        if not workshop_ids:
            return
        found = set(await self.session.scalars(select(Workshop.id).where(Workshop.id.in_(workshop_ids))))
        missing = sorted(set(workshop_ids) - found)
        if missing:
            raise InvalidInput(f"Unknown workshop ids: {missing}", field="workshop_ids")

    async def register(self, data: RegisterRequest) -> UserOut:
        await self._ensure_username_free(data.username)
        user = User(
            username=data.username,
            display_name=data.display_name,
            phone=data.phone,
            password_hash=hash_password(data.password),
            role=Role.BUYER,
        )
        self.session.add(user)
        await self.session.flush()
        audit.record(self.session, actor_id=user.id, action="register", entity="user", entity_id=user.id)
        await self.session.commit()
        await self.session.refresh(user, ["managed_workshops"])
        return user_out(user)

    async def create_user(self, actor: Caller, data: CreateUserRequest) -> UserOut:
        await self._ensure_username_free(data.username)
        if data.workshop_ids and data.role is not Role.WORKSHOP_MANAGER:
            raise InvalidInput("Only workshop managers are scoped to workshops.", field="workshop_ids")
        await self._ensure_workshops_exist(data.workshop_ids)
        user = User(
            username=data.username,
            display_name=data.display_name,
            phone=data.phone,
            password_hash=hash_password(data.password),
            role=data.role,
            managed_workshops=[WorkshopManagerScope(workshop_id=w) for w in sorted(set(data.workshop_ids))],
        )
        self.session.add(user)
        await self.session.flush()
        audit.record(
            self.session,
            actor_id=actor.id,
            action="create",
            entity="user",
            entity_id=user.id,
            changes={"role": data.role.value, "workshop_ids": sorted(set(data.workshop_ids))},
        )
        await self.session.commit()
        return user_out(user)

    async def get(self, user_id: int) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} not found.")
        return user

    async def update_user(self, actor: Caller, user_id: int, data: UpdateUserRequest) -> UserOut:
        user = await self.get(user_id)
        changes: dict[str, object] = {}
        if data.display_name is not None:
            changes["display_name"] = [user.display_name, data.display_name]
            user.display_name = data.display_name
        if data.role is not None:
            changes["role"] = [user.role.value, data.role.value]
            user.role = data.role
        if data.is_active is not None:
            changes["is_active"] = [user.is_active, data.is_active]
            user.is_active = data.is_active
        if data.password is not None:
            changes["password"] = "changed"
            user.password_hash = hash_password(data.password)
        if data.workshop_ids is not None:
            if user.role is not Role.WORKSHOP_MANAGER and data.workshop_ids:
                raise InvalidInput("Only workshop managers are scoped to workshops.", field="workshop_ids")
            await self._ensure_workshops_exist(data.workshop_ids)
            changes["workshop_ids"] = [sorted(user.workshop_ids), sorted(set(data.workshop_ids))]
            user.managed_workshops = [WorkshopManagerScope(workshop_id=w) for w in sorted(set(data.workshop_ids))]
        audit.record(
            self.session, actor_id=actor.id, action="update", entity="user", entity_id=user.id, changes=changes
        )
        await self.session.commit()
        await self.session.refresh(user, ["managed_workshops"])
        return user_out(user)

    async def list_users(self, role: Role | None, limit: int, offset: int) -> tuple[list[UserOut], int]:
        query = select(User)
        count_query = select(func.count()).select_from(User)
        if role is not None:
            query = query.where(User.role == role)
            count_query = count_query.where(User.role == role)
        total = int(await self.session.scalar(count_query) or 0)
        users = await self.session.scalars(query.order_by(User.id).limit(limit).offset(offset))
        return [user_out(u) for u in users], total

    async def login(self, username: str, password: str, secret: str, ttl: dt.timedelta) -> TokenOut:
        user = await self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None or not user.is_active or not verify_password(user.password_hash, password):
            raise Unauthorized("Wrong username or password.")
        user.last_login_at = utcnow()
        await self.session.commit()
        token = issue_token(user.id, user.role, secret, ttl)
        return TokenOut(token, "Bearer", int(ttl.total_seconds()), user_out(user))

    async def issue_device_token(self, actor: Caller, user_id: int, secret: str, ttl: dt.timedelta) -> TokenOut:
        """Long-lived token for a kiosk device (展厅终端), issued by a centre admin."""
        user = await self.get(user_id)
        if user.role is not Role.KIOSK:
            raise InvalidInput("Device tokens are only issued to kiosk accounts.", field="user_id")
        audit.record(self.session, actor_id=actor.id, action="issue_token", entity="user", entity_id=user.id)
        await self.session.commit()
        return TokenOut(
            issue_token(user.id, user.role, secret, ttl), "Bearer", int(ttl.total_seconds()), user_out(user)
        )
