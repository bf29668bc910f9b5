"""End-to-end pages in Debian's Chromium through Playwright, against the hub served as `make run` serves it.

One server per test session (SQLite, embedded search, in-memory cache, offline payment, the demo data), in its own
process on a free port; every test gets a fresh browser context (no shared cookies). Screenshots go to
`test-artifacts/screenshots/`, and `assert_accessible` runs axe-core (from npm, installed by `make test`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
KIOSK = {"width": 1920, "height": 1080}
# Without these, Chromium tries Google's hosts at start and this machine's closed network refuses them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(here):
            # One xdist worker runs them all, sharing the one server and browser.
            item.add_marker(pytest.mark.xdist_group("browser"))
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hub(*args: str, env: dict[str, str]) -> None:
    hub = Path(sys.executable).parent / "hub"
    subprocess.run([str(hub), *args], env=env, check=True, cwd=ROOT, capture_output=True, timeout=300)


class LiveHub:
    """The running hub: its base URL, and the environment to run `hub` commands against its database."""

    def __init__(self, base_url: str, env: dict[str, str], log_path: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.log_path = log_path

    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def token(self, username: str, password: str) -> str:
        with self.api() as client:
            r = client.post("/api/auth/login", json={"username": username, "password": password})
            r.raise_for_status()
            return str(r.json()["access_token"])

    def hub(self, *args: str) -> None:
        _hub(*args, env=self.env)


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    if sync_playwright is None or not CHROMIUM.exists():
        pytest.skip("Browser tests need Debian's chromium (apt-get install chromium) and playwright (make test).")
    var = tmp_path_factory.mktemp("live-hub")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "SEARCH_", "STRIPE_"))},
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{var / 'hub.sqlite3'}",
        "VAR_DIR": str(var),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "SEARCH_BACKEND": "embedded",
        "LOGIN_RATE_PER_MINUTE": "1000",
    }
    _hub("migrate", env=env)
    _hub("seed", "--demo", env=env)
    log_path = var / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # a loaded 2-core CI machine seeds slowly
    while True:
        try:
            if httpx.get(base_url + "/health/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("The hub did not start:\n" + log_path.read_text(errors="replace")[-4000:])
        time.sleep(0.2)
    try:
        yield LiveHub(base_url, env, log_path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def browser(live_hub: LiveHub) -> Iterator[Browser]:
    """Chromium for one test. Playwright's sync API marks an event loop as running in this thread while it lives,
    so it must end with the test: the async tests this xdist worker runs next need the thread's loop free."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def new_context(browser: Browser, live_hub: LiveHub, viewport: dict[str, int], **options: Any) -> BrowserContext:
    context = browser.new_context(
        viewport=viewport,
        base_url=live_hub.base_url,
        locale="zh-CN",
        device_scale_factor=1,
        has_touch=viewport is PHONE,
        is_mobile=viewport is PHONE,
        **options,
    )
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone(browser: Browser, live_hub: LiveHub) -> Iterator[Page]:
    """A fresh phone-sized page (390×844), no cookies."""
    context = new_context(browser, live_hub, PHONE)
    yield context.new_page()
    context.close()


@pytest.fixture
def kiosk_screen(browser: Browser, live_hub: LiveHub) -> Iterator[Page]:
    """A fresh 1920×1080 page, the showroom kiosk's screen."""
    context = new_context(browser, live_hub, KIOSK)
    yield context.new_page()
    context.close()


def login(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact: test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page: Page, *, ignore: tuple[str, ...] = ()) -> None:
    """axe-core on the page as it is now: no serious or critical violation (WCAG 2 A/AA rules)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}; `make test` installs it (npm install in tests/browser).")
    # Evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not govern: the page
    # under test keeps its real policy, and axe still runs.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']
        })"""
    )
    serious = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical") and v["id"] not in ignore
    ]
    assert serious == [], f"axe-core found serious accessibility violations on {page.url}: {serious}"
