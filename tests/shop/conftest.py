"""Shop fixtures: a small shop in the database, a Stripe stand-in and an app configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from shop.app import create_app
from shop.db import create_engine, create_session_factory
from shop.notifications import MemorySender, set_sender
from shop.settings import Settings
from tests.conftest import empty_database, make_settings
from tests.shop.helpers import WEBHOOK_SECRET, Shop, make_shop
from tests.shop.stripe_standin import StripeStandIn


@pytest.fixture(scope="session")
def stripe_standin() -> Iterator[StripeStandIn]:
    standin = StripeStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture
def sent() -> Iterator[MemorySender]:
    sender = MemorySender()
    set_sender(sender)
    yield sender
    set_sender(None)


@pytest.fixture
async def settings(db_url: str, tmp_path: Path, stripe_standin: StripeStandIn) -> Settings:
    await empty_database(db_url)
    stripe_standin.reset()
    s = make_settings(db_url, tmp_path)
    s.stripe = s.stripe.model_copy(
        update={
            "secret_key": "sk_test_hub",
            "publishable_key": "pk_test_hub",
            "webhook_secret": WEBHOOK_SECRET,
            "api_base": stripe_standin.url,
        }
    )
    s.app = s.app.model_copy(update={"inprocess_worker": False})
    return s


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """The test's own engine without a pool: the app runs on the test client's loop, and pooled asyncpg
    connections must not cross event loops."""
    engine = create_engine(settings.db, null_pool=True)
    async with create_session_factory(engine)() as db_session:
        yield db_session
    await engine.dispose()


@pytest.fixture
async def shop(session: AsyncSession) -> Shop:
    return await make_shop(session)


@pytest.fixture
async def offline_app(db_url: str, tmp_path: Path) -> AsyncIterator[Litestar]:
    """The embedded default: no Stripe keys at all."""
    settings = make_settings(db_url, tmp_path)
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def offline_client(offline_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=offline_app) as c:
        yield c
