"""Schemathesis against the hub's own OpenAPI document: every operation, as an anonymous caller and as each role.

A small, derandomised run (one schema-valid and one schema-violating request per operation, each sent as all seven
callers) on SQLite with the demo data, in-process over ASGI. Every response must be a non-5xx, with a status code the
schema documents for that operation and a body and content type matching it. `python -m bench.fuzz` runs the same
driver with many more examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fuzz import CALLERS, build_hub, figures, fuzz, grouped

EXAMPLES = 1  # per operation and generation mode; each generated request goes out once per caller


@pytest.mark.xdist_group("fuzz")
def test_every_operation_as_every_caller_meets_its_schema(tmp_path: Path) -> None:
    # given a hub with the demo data (one account per role)
    app = build_hub(tmp_path / "var")
    # when every operation is fuzzed as every caller
    report = fuzz(app, examples=EXAMPLES)
    # then every operation was reached by every caller, with no server error and no undocumented answer
    summary = figures(report)
    assert report.operations >= 100, summary
    assert set(report.cases) == set(CALLERS), summary
    assert min(report.cases.values()) >= report.operations, summary
    problems = [
        f"{operation} → {status}: {kinds} [{', '.join(sorted({f.caller for f in found}))}]\n  {found[0].reproduce}"
        for (operation, status, kinds), found in grouped(report).items()
    ]
    assert problems == [], "\n".join(problems)
    assert report.server_errors == 0
