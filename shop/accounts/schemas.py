"""Account request and response bodies."""

from __future__ import annotations

from typing import Annotated

import msgspec

from shop.accounts.models import Role

Username = Annotated[str, msgspec.Meta(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{5,20}$")]


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Self-service sign-up creates a buyer account."""

    username: Username
    password: Password
    display_name: DisplayName
    phone: Phone | None = None


class CreateUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Centre admins create staff, streamer, member and kiosk accounts."""

    username: Username
    password: Password
    display_name: DisplayName
    role: Role
    phone: Phone | None = None
    workshop_ids: list[Annotated[int, msgspec.Meta(ge=1)]] = []


class UpdateUserRequest(msgspec.Struct, forbid_unknown_fields=True):
    display_name: DisplayName | None = None
    role: Role | None = None
    is_active: bool | None = None
    workshop_ids: list[Annotated[int, msgspec.Meta(ge=1)]] | None = None
    password: Password | None = None


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    workshop_ids: list[int]


class TokenOut(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    user: UserOut
