"""Dependencies shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from shop.auth import Caller
from shop.errors import Unauthorized
from shop.settings import Settings


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.session_factory() as session:
        yield session


def provide_settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]


def provide_optional_caller(request: Request[Any, Any, Any]) -> Caller | None:
    return request.scope.get("user")


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    caller = request.scope.get("user")
    if caller is None:  # guards normally refuse first; this keeps a forgotten guard from leaking
        raise Unauthorized("Please log in to do this.")
    return caller  # type: ignore[no-any-return]


class Page:
    """Pagination from `page` (1-based) and `per_page` (1–100)."""

    def __init__(self, page: int, per_page: int) -> None:
        self.page = page
        self.per_page = per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def provide_page(
    page: int = Parameter(query="page", ge=1, le=100_000, default=1, description="Page number, from 1"),
    per_page: int = Parameter(query="per_page", ge=1, le=100, default=20, description="Items per page, 1–100"),
) -> Page:
    return Page(page, per_page)


dependencies = {
    "db_session": Provide(provide_db_session),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
    "optional_caller": Provide(provide_optional_caller, sync_to_thread=False),
    "paging": Provide(provide_page, sync_to_thread=False),
}
