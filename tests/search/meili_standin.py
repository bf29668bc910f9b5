"""A small local stand-in for the Meilisearch HTTP API, for tests (no real Meilisearch can run here).

It implements, as documented, the endpoints our backend calls through the official client: ``GET /health``,
``POST /indexes``, ``GET/DELETE /indexes/{uid}``, ``PATCH/GET /indexes/{uid}/settings``,
``POST /indexes/{uid}/documents``, ``POST /indexes/{uid}/documents/delete-batch``,
``POST /indexes/{uid}/documents/fetch``, ``GET /indexes/{uid}/stats``, ``POST /indexes/{uid}/search``,
``POST /multi-search``, ``POST /swap-indexes`` and ``GET /tasks/{uid}``. Tasks complete at once.

Matching is deliberately naive (every query word, or one of its synonyms, must be a substring of a searchable
attribute); what the tests check is that our backend sends the right settings and requests and maps responses.
``down`` makes every call answer 503; ``delay`` makes every call slow (timeouts).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class MeiliStandIn:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.down = False
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MeiliStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, method: str, path_suffix: str) -> list[Any]:
        return [body for m, p, body in self.requests if m == method and p.endswith(path_suffix)]

    # ----------------------------------------------------------------- behaviour

    def _task(self, index_uid: str | None, kind: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
        uid = len(self.tasks)
        task = {
            "uid": uid,
            "taskUid": uid,
            "indexUid": index_uid,
            "status": "failed" if error else "succeeded",
            "type": kind,
            "enqueuedAt": _now(),
            "startedAt": _now(),
            "finishedAt": _now(),
            "error": error,
        }
        self.tasks[uid] = task
        return {k: task[k] for k in ("taskUid", "indexUid", "status", "type", "enqueuedAt")} | {"status": "enqueued"}

    def _index(self, uid: str) -> dict[str, Any] | None:
        return self.indexes.get(uid)

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts == ["health"]:
            return 200, {"status": "available"}
        if parts[:1] == ["tasks"] and len(parts) == 2:
            task = self.tasks.get(int(parts[1]))
            return (200, task) if task else (404, {"code": "task_not_found", "message": "no task"})
        if parts == ["multi-search"] and method == "POST":
            results = []
            for q in body["queries"]:
                status, result = self._search(q["indexUid"], q)
                if status != 200:
                    return status, result
                results.append(result | {"indexUid": q["indexUid"]})
            return 200, {"results": results}
        if parts == ["swap-indexes"] and method == "POST":
            for swap in body:
                a, b = swap["indexes"]
                self.indexes[a], self.indexes[b] = self.indexes[b], self.indexes[a]
                self.indexes[a]["uid"], self.indexes[b]["uid"] = a, b
            return 202, self._task(None, "indexSwap")
        if parts == ["indexes"] and method == "POST":
            uid = body["uid"]
            if uid in self.indexes:
                return 202, self._task(uid, "indexCreation", {"code": "index_already_exists"})
            self.indexes[uid] = {
                "uid": uid,
                "primaryKey": body.get("primaryKey"),
                "settings": {},
                "docs": {},
                "createdAt": _now(),
                "updatedAt": _now(),
            }
            return 202, self._task(uid, "indexCreation")
        if parts[:1] != ["indexes"] or len(parts) < 2:
            return 404, {"code": "not_found", "message": path}
        uid = parts[1]
        index = self._index(uid)
        if index is None:
            return 404, {
                "message": f"Index `{uid}` not found.",
                "code": "index_not_found",
                "type": "invalid_request",
                "link": "https://docs.meilisearch.com/errors#index_not_found",
            }
        rest = parts[2:]
        if not rest:
            if method == "DELETE":
                del self.indexes[uid]
                return 202, self._task(uid, "indexDeletion")
            return 200, {k: index[k] for k in ("uid", "primaryKey", "createdAt", "updatedAt")}
        if rest == ["settings"]:
            if method == "PATCH":
                index["settings"].update(body)
                return 202, self._task(uid, "settingsUpdate")
            return 200, index["settings"]
        if rest == ["stats"]:
            return 200, {"numberOfDocuments": len(index["docs"]), "isIndexing": False, "fieldDistribution": {}}
        if rest == ["documents"] and method in ("POST", "PUT"):
            for doc in body:
                key = doc[index["primaryKey"] or "id"]
                index["docs"][str(key)] = doc if method == "POST" else {**index["docs"].get(str(key), {}), **doc}
            return 202, self._task(uid, "documentAdditionOrUpdate")
        if rest == ["documents", "delete-batch"]:
            for key in body:
                index["docs"].pop(str(key), None)
            return 202, self._task(uid, "documentDeletion")
        if rest == ["documents", "fetch"]:
            docs = list(index["docs"].values())
            offset, limit = int(body.get("offset", 0)), int(body.get("limit", 20))
            fields = body.get("fields")
            page = [{k: d.get(k) for k in fields} if fields else d for d in docs[offset : offset + limit]]
            return 200, {"results": page, "offset": offset, "limit": limit, "total": len(docs)}
        if rest == ["search"] and method == "POST":
            return self._search(uid, body)
        return 404, {"code": "not_found", "message": path}

    def _search(self, uid: str, body: dict[str, Any]) -> tuple[int, Any]:
        index = self._index(uid)
        if index is None:
            return 404, {"code": "index_not_found", "message": uid, "type": "invalid_request", "link": ""}
        settings = index["settings"]
        searchable = settings.get("searchableAttributes") or ["*"]
        synonyms: dict[str, list[str]] = settings.get("synonyms") or {}
        words = [w for w in str(body.get("q") or "").lower().split() if w]
        docs = []
        for doc in index["docs"].values():
            fields = [k for k in doc if searchable == ["*"] or k in searchable]
            haystack = " ".join(str(doc.get(k) or "") for k in fields).lower()
            if all(any(alt in haystack for alt in [w, *synonyms.get(w, [])]) for w in words) and _filter(
                doc, body.get("filter")
            ):
                docs.append(doc)
        for rule in reversed(body.get("sort") or []):
            name, _, direction = rule.partition(":")
            docs.sort(key=lambda d, n=name: d.get(n) or 0, reverse=direction == "desc")
        facets: dict[str, dict[str, int]] = {}
        for name in body.get("facets") or []:
            counts: dict[str, int] = {}
            for doc in docs:
                value = doc.get(name)
                key = ("true" if value else "false") if isinstance(value, bool) else str(value)
                counts[key] = counts.get(key, 0) + 1
            facets[name] = counts
        per_page = int(body.get("hitsPerPage", body.get("limit", 20)))
        page = int(body.get("page", 1))
        offset = int(body.get("offset", (page - 1) * per_page))
        chosen = docs[offset : offset + per_page]
        pre, post = body.get("highlightPreTag", "<em>"), body.get("highlightPostTag", "</em>")
        retrieve = body.get("attributesToRetrieve")
        hits = []
        for doc in chosen:
            hit = {k: doc.get(k) for k in retrieve} if retrieve else dict(doc)
            formatted = {}
            for name in body.get("attributesToHighlight") or []:
                text = str(doc.get(name) or "")
                for w in words:
                    text = text.replace(w, f"{pre}{w}{post}")
                formatted[name] = text
            if formatted:
                hit["_formatted"] = formatted
            hits.append(hit)
        result: dict[str, Any] = {"hits": hits, "query": body.get("q") or "", "processingTimeMs": 1}
        if "hitsPerPage" in body or "page" in body:
            result |= {
                "page": page,
                "hitsPerPage": per_page,
                "totalHits": len(docs),
                "totalPages": -(-len(docs) // per_page) if per_page else 0,
            }
        else:
            result |= {"offset": offset, "limit": per_page, "estimatedTotalHits": len(docs)}
        if body.get("facets"):
            result["facetDistribution"] = facets
        return 200, result

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _respond(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw and raw.strip() not in (b"", b"null") else None
                standin.requests.append((method, self.path, body))
                if standin.delay:
                    time.sleep(standin.delay)
                if standin.down:
                    status, payload = (
                        503,
                        {"message": "unavailable", "code": "unavailable", "type": "system", "link": ""},
                    )
                else:
                    with standin._lock:
                        status, payload = standin.handle(method, self.path, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def do_GET(self) -> None:
                self._respond("GET")

            def do_POST(self) -> None:
                self._respond("POST")

            def do_PATCH(self) -> None:
                self._respond("PATCH")

            def do_PUT(self) -> None:
                self._respond("PUT")

            def do_DELETE(self) -> None:
                self._respond("DELETE")

        return Handler


_CLAUSE = re.compile(r"^\s*(\w+)\s*(IN|=|>=|<=|>|<|!=)\s*(.+?)\s*$")


def _value(token: str) -> Any:
    token = token.strip()
    if token.startswith('"'):
        return json.loads(token)
    if token in ("true", "false"):
        return token == "true"
    return int(token)


def _filter(doc: dict[str, Any], expr: Any) -> bool:
    """Arrays are AND of clauses; a clause is ``f IN [..]``, ``f = v`` or a numeric comparison."""
    if not expr:
        return True
    clauses = expr if isinstance(expr, list) else [c for c in re.split(r"\s+AND\s+", expr)]
    for clause in clauses:
        if isinstance(clause, list):  # inner arrays are OR
            if not any(_filter(doc, [c]) for c in clause):
                return False
            continue
        m = _CLAUSE.match(clause)
        if not m:
            raise ValueError(f"stand-in cannot parse filter {clause!r}")
        name, op, raw = m.groups()
        value = doc.get(name)
        if op == "IN":
            options = [_value(t) for t in raw.strip("[]").split(",") if t.strip()]
            if value not in options:
                return False
        elif (op == "=" and value != _value(raw)) or (op == "!=" and value == _value(raw)):
            return False
        elif op in (">=", "<=", ">", "<"):
            limit = _value(raw)
            ok = {">=": value >= limit, "<=": value <= limit, ">": value > limit, "<": value < limit}[op]
            if not ok:
                return False
    return True
