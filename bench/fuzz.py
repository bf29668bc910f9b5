"""Schema fuzzing: Schemathesis against the hub's own OpenAPI document, every route, as every kind of caller.

`python -m bench.fuzz [--examples N] [--roles anonymous,buyer,...] [--operation SUBSTRING]` builds a throwaway SQLite
hub with the demo data, loads `/schema/openapi.json` from the app in-process (ASGI, no server), and for every
operation and every caller (anonymous, buyer, streamer, workshop manager, centre admin, kiosk, member) generates
schema-valid and schema-violating requests with Hypothesis. Each response must not be a 5xx, must use a status code
the schema documents for that operation, and must have a body matching the documented schema and content type.
Prints a table per caller and ends with one JSON line of figures. The test suite runs the same driver with a small
example count (`tests/security/test_fuzz_api.py`).

Demo accounts the fuzzer acts as are put back (active, same role) after each operation, so a generated
"deactivate this user" request does not turn the rest of the run into a wall of 401s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from shop.accounts.models import Role
from shop.auth import issue_token
from shop.threads import run_in_thread

ANONYMOUS = "anonymous"
# The demo account each role's fuzzing acts as (catalog/seed/demo.py).
DEMO_ACCOUNTS = {
    Role.BUYER.value: "buyer",
    Role.STREAMER.value: "streamer_xiaoli",
    Role.WORKSHOP_MANAGER.value: "manager_hongtang",
    Role.CENTRE_ADMIN.value: "admin",
    Role.KIOSK.value: "kiosk",
    Role.MEMBER.value: "member",
}
CALLERS = (ANONYMOUS, *DEMO_ACCOUNTS)
# Routes whose whole purpose would end the run: they are fuzzed, but with the caller's token left out of the
# database's reach (logout only clears a cookie; login is rate limited, and 429 is documented).
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]


@dataclass(frozen=True)
class Finding:
    caller: str
    operation: str
    status: int | None
    message: str
    reproduce: str


@dataclass
class FuzzReport:
    operations: int = 0
    cases: Counter[str] = field(default_factory=Counter)  # per caller
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        return sum(1 for f in self.findings.values() if f.status is not None and f.status >= 500)

    def add(self, finding: Finding) -> None:
        first_line = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
        self.findings.setdefault((finding.caller, finding.operation, first_line[:160]), finding)


def _migrate_and_seed(db_url: str) -> None:
    from catalog.seed.demo import load_demo
    from shop.cli import DEMO_MODULES, migrate_to
    from shop.db import create_engine, create_session_factory
    from shop.settings import DatabaseSettings

    migrate_to("head", db_url)

    async def seed() -> None:
        import importlib

        engine = create_engine(DatabaseSettings.model_validate({"DATABASE_URL": db_url}), null_pool=True)
        factory = create_session_factory(engine)
        try:
            async with factory() as session:
                await load_demo(session)
            for name in DEMO_MODULES:
                async with factory() as session:
                    await importlib.import_module(name).load_demo(session)
        finally:
            await engine.dispose()

    asyncio.run(seed())


def build_hub(var_dir: Path, redis_url: str | None = None) -> Litestar:
    """A hub on a fresh SQLite file with the demo data, configured like the test suite (no background loops)."""
    from shop.app import create_app
    from shop.settings import DatabaseSettings, Settings

    var_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{var_dir / 'fuzz.sqlite3'}"
    run_in_thread(_migrate_and_seed, db_url)
    os.environ.setdefault("APP_ENV", "test")
    settings = Settings()
    settings.db = DatabaseSettings.model_validate({"DATABASE_URL": db_url, "DATABASE_POOL": "null"})
    settings.app = settings.app.model_copy(
        update={
            "var_dir": var_dir,
            "environment": "test",
            "inprocess_worker": False,
            "debug": False,
            # The fuzzer sends thousands of requests a minute as a handful of callers; the limits would answer most
            # of them 429 (documented, but then the route itself goes untested). Log-in keeps its limit.
            "pickup_code_rate_per_minute": 0,
            "search_rate_per_minute": 0,
            "checkout_rate_per_minute": 0,
        }
    )
    settings.redis = settings.redis.model_copy(update={"url": redis_url})
    # A webhook secret, so the Stripe webhook's signature check is what the fuzzer meets (without one the hub
    # answers 503 "not configured" by design). No Stripe API key: payments stay offline, nothing leaves the machine.
    settings.stripe = settings.stripe.model_copy(update={"webhook_secret": "whsec_fuzz_" + "0" * 24})
    return create_app(settings)


def _db_path(app: Litestar) -> str:
    return str(app.state.settings.db.url).split("///", 1)[1]


def _accounts(app: Litestar) -> dict[str, tuple[int, str]]:
    """username → (id, role) of the demo accounts, read once so they can be put back after each operation."""
    with sqlite3.connect(_db_path(app)) as conn:
        rows = conn.execute(
            f"SELECT username, id, role FROM user_account WHERE username IN ({','.join('?' * len(DEMO_ACCOUNTS))})",
            list(DEMO_ACCOUNTS.values()),
        ).fetchall()
    return {username: (user_id, role) for username, user_id, role in rows}


def _restore_accounts(app: Litestar, accounts: dict[str, tuple[int, str]]) -> None:
    with sqlite3.connect(_db_path(app)) as conn:
        for user_id, role in accounts.values():
            conn.execute("UPDATE user_account SET is_active = 1, role = ? WHERE id = ?", (role, user_id))


def caller_headers(app: Litestar) -> dict[str, dict[str, str]]:
    """Bearer headers for every fuzzing caller (anonymous: none), signed with the app's own secret."""
    secret = app.state.settings.app.secret_key
    accounts = _accounts(app)
    headers: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    for role, username in DEMO_ACCOUNTS.items():
        user_id, _ = accounts[username]
        token = issue_token(user_id, Role(role), secret, dt.timedelta(hours=6))
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


def _curl(case: schemathesis.Case, headers: dict[str, str]) -> str:
    try:
        return case.as_curl_command(headers)
    except Exception as exc:  # reproduction text is a convenience; never lose the finding over it
        return f"(no curl: {type(exc).__name__})"


def _message(exc: BaseException) -> str:
    parts = [str(exc)]
    for sub in getattr(exc, "exceptions", ()):
        parts.append(str(sub))
    return "\n".join(p for p in parts if p)[:2000]


def fuzz(
    app: Litestar,
    *,
    examples: int = 10,
    callers: tuple[str, ...] = CALLERS,
    operation_filter: str | None = None,
    seed: int | None = 1,
    modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    progress: bool = False,
) -> FuzzReport:
    """Fuzz every documented operation as each caller; failures are collected, not raised."""
    report = FuzzReport()
    started = time.perf_counter()
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    headers = caller_headers(app)
    accounts = _accounts(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        if operation_filter and operation_filter not in label:
            continue
        report.operations += 1
        if progress:
            print(f"{time.perf_counter() - started:7.1f}s {label}", file=sys.stderr, flush=True)
        for mode in modes:
            _fuzz_one(operation, label, {c: headers[c] for c in callers}, mode, examples, seed, report)
            _restore_accounts(app, accounts)
    report.seconds = time.perf_counter() - started
    return report


def _fuzz_one(
    operation: Any,
    label: str,
    callers: dict[str, dict[str, str]],
    mode: GenerationMode,
    examples: int,
    seed: int | None,
    report: FuzzReport,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=seed is not None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        # A generated Authorization header would replace the caller's token; the caller decides who is asking.
        if case.headers:
            case.headers.pop("Authorization", None)
            case.headers.pop("authorization", None)
        # One generated request, sent as every caller: generation is the costly part, requests are cheap.
        for caller, headers in callers.items():
            try:
                response = case.call(headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # a transport error is a finding, not a crash of the run
                report.add(Finding(caller, label, None, f"{type(exc).__name__}: {_message(exc)}", ""))
                continue
            report.cases[caller] += 1
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # every failed check is recorded; the run goes on
                report.add(Finding(caller, label, response.status_code, _message(exc), _curl(case, headers)))

    try:
        run()
    except hypothesis.errors.FlakyFailure:
        # Every failed check was recorded inside `run` as it happened; Hypothesis only noticed that a replay of the
        # same input behaved differently (the hub's state moved on: a month closed, a stock level changed).
        pass
    except (Exception, BaseExceptionGroup) as exc:  # a generation error is a finding too
        report.add(Finding("*", label, None, f"{type(exc).__name__}: {_message(exc)}", ""))


def grouped(report: FuzzReport) -> dict[tuple[str, int | None, str], list[Finding]]:
    """Findings grouped by operation, status and failed checks (the same bug seen by several callers is one)."""
    groups: dict[tuple[str, int | None, str], list[Finding]] = {}
    for finding in report.findings.values():
        kinds = sorted({line.strip()[2:] for line in finding.message.splitlines() if line.strip().startswith("- ST")})
        key = (finding.operation, finding.status, "; ".join(kinds) or finding.message.splitlines()[0][:120])
        groups.setdefault(key, []).append(finding)
    return groups


def print_report(report: FuzzReport) -> None:
    print(f"{'caller':<18} {'requests':>9} {'findings':>9}")
    for caller in CALLERS:
        if caller in report.cases or any(f.caller == caller for f in report.findings.values()):
            found = sum(1 for f in report.findings.values() if f.caller == caller)
            print(f"{caller:<18} {report.cases[caller]:>9} {found:>9}")
    print(f"{'all':<18} {sum(report.cases.values()):>9} {len(report.findings):>9}")
    print(f"operations: {report.operations}; seconds: {report.seconds:.1f}")
    print("status codes: " + ", ".join(f"{code}×{n}" for code, n in sorted(report.statuses.items())))
    for (operation, status, kinds), findings in grouped(report).items():
        callers = ", ".join(sorted({f.caller for f in findings}))
        print(f"\n{operation} → {status}: {kinds}  [{callers}]\n  {findings[0].reproduce}")


def figures(report: FuzzReport) -> dict[str, Any]:
    return {
        "bench": "fuzz",
        "operations": report.operations,
        "cases": sum(report.cases.values()),
        "cases_per_caller": dict(report.cases),
        "findings": len(report.findings),
        "server_errors": report.server_errors,
        "status_codes": {str(k): v for k, v in sorted(report.statuses.items())},
        "seconds": round(report.seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation, caller and mode")
    parser.add_argument("--roles", default=",".join(CALLERS), help="comma-separated callers")
    parser.add_argument("--operation", default=None, help="only operations whose 'METHOD /path' contains this")
    parser.add_argument("--seed", type=int, default=None, help="derandomise (same cases every run)")
    args = parser.parse_args()
    callers = tuple(c.strip() for c in args.roles.split(",") if c.strip())
    unknown = set(callers) - set(CALLERS)
    if unknown:
        parser.error(f"unknown callers: {', '.join(sorted(unknown))}; choose from {', '.join(CALLERS)}")
    with tempfile.TemporaryDirectory(prefix="hub-fuzz-") as tmp:
        app = build_hub(Path(tmp))
        report = fuzz(
            app, examples=args.examples, callers=callers, operation_filter=args.operation, seed=args.seed, progress=True
        )
    print_report(report)
    print(json.dumps(figures(report), ensure_ascii=False))
    raise SystemExit(1 if report.findings else 0)


if __name__ == "__main__":
    main()
