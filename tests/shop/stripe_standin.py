"""A local stand-in for the Stripe API endpoints the hub uses (PaymentIntents create/retrieve, refunds).

Speaks form-encoded requests and JSON responses like api.stripe.com, honours Idempotency-Key, and records every
request so tests can assert what the hub sent. Runs in a thread on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def _nest(form: list[tuple[str, str]]) -> dict[str, Any]:
    """`metadata[order_id]=1&allowed_payment_method_types[0]=card` → nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in form:
        parts = key.replace("]", "").split("[")
        node = out
        for part, nxt in itertools.pairwise(parts):
            node = node.setdefault(part, [] if nxt.isdigit() else {})
            if isinstance(node, list):
                break
        if isinstance(node, list):
            node.append(value)
        else:
            node[parts[-1]] = value
    return out


class StripeStandIn:
    def __init__(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_next = 0  # answer the next N calls with a 500
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                status, body = standin.handle("GET", self.path, {}, None, self.headers.get("Authorization"))
                self._send(status, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = _nest(parse_qsl(self.rfile.read(length).decode()))
                status, body = standin.handle(
                    "POST", self.path, form, self.headers.get("Idempotency-Key"), self.headers.get("Authorization")
                )
                self._send(status, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reset(self) -> None:
        """Forget everything: each test's database starts its ids at 1 again, so its keys would collide."""
        with self._lock:
            self.intents.clear()
            self.refunds.clear()
            self.requests.clear()
            self._idempotent.clear()
            self.fail_next = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> StripeStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(
        self, method: str, path: str, form: dict[str, Any], key: str | None, authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, path, form))
            if not (authorization or "").startswith("Bearer sk_test_"):
                return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {"error": {"type": "api_error", "message": "stand-in failure"}}
            if key and key in self._idempotent:
                return self._idempotent[key]
            result = self._route(method, path.split("?")[0], form)
            if key and method == "POST":
                self._idempotent[key] = result
            return result

    def _route(self, method: str, path: str, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            pid = f"pi_standin_{next(self._ids)}"
            intent = {
                "id": pid,
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "status": "requires_payment_method",
                "client_secret": f"{pid}_secret_x",
                "payment_method_types": form.get("allowed_payment_method_types")
                or form.get("payment_method_types")
                or ["card"],
                "metadata": form.get("metadata", {}),
                "amount_received": 0,
                "livemode": False,
            }
            self.intents[pid] = intent
            return 200, intent
        if method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            intent = self.intents.get(parts[2])
            return (
                (200, intent)
                if intent
                else (404, {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}})
            )
        if method == "POST" and parts == ["v1", "refunds"]:
            rid = f"re_standin_{next(self._ids)}"
            refund = {
                "id": rid,
                "object": "refund",
                "amount": int(form["amount"]),
                "payment_intent": form["payment_intent"],
                "status": "succeeded",
            }
            self.refunds[rid] = refund
            return 200, refund
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}"}}
