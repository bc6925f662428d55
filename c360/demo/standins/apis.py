"""The three remote APIs the demo and the tests talk to: a web shop, a social
platform and a credit bureau, each a :class:`StandInServer` over in-memory data.

Listings filter on ``updated_since`` (inclusive) and sort by ``(updated_at, id)``,
as a well-behaved API does; every record can be changed (:meth:`Listing.touch`)
so incremental syncs have something to find.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from base64 import b64decode
from bisect import bisect_left
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from c360.demo.standins.server import Answer, Request, StandInServer

CHINA = timedelta(hours=8)


def china_iso(moment: datetime) -> str:
    """``2025-03-14T15:23:11+08:00``."""
    return moment.astimezone(timezone(CHINA)).replace(microsecond=0).isoformat()


def _moment(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Listing:
    """Records of one kind, listable by ``updated_since`` in a stable order."""

    def __init__(self, records: list[dict[str, Any]], id_key: str = "id") -> None:
        self.id_key = id_key
        self._by_id = {str(r[id_key]): dict(r) for r in records}
        self._lock = threading.Lock()
        self._clock = max((_moment(r.get("updated_at")) for r in records), default=None)
        self._order: tuple[list[tuple[datetime, str]], list[dict[str, Any]]] | None = None

    def __len__(self) -> int:
        return len(self._by_id)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._by_id.values()]

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_id.get(key)
            return dict(found) if found else None

    def _tick(self) -> str:
        now = datetime.now(UTC)
        if self._clock is not None and now <= self._clock:
            now = self._clock + timedelta(seconds=1)
        self._clock = now
        return china_iso(now)

    def touch(self, key: str, **changes: Any) -> dict[str, Any]:
        """Change a record (or add it) and move its ``updated_at`` past every other."""
        with self._lock:
            record = dict(self._by_id.get(key) or {self.id_key: key})
            record.update(changes)
            record["updated_at"] = self._tick()
            self._by_id[key] = record
            self._order = None
            return dict(record)

    def since(self, value: str | None) -> list[dict[str, Any]]:
        """Records updated at or after ``value``, by ``(updated_at, id)``. The
        records are shared, not copied: read them, do not change them (``touch``
        replaces a record, it never changes one in place)."""
        with self._lock:
            if self._order is None:  # sorted once per change, not once per page
                keyed = sorted(
                    ((_moment(r.get("updated_at")), str(r[self.id_key])), r)
                    for r in self._by_id.values()
                )
                self._order = ([k for k, _ in keyed], [r for _, r in keyed])
            keys, records = self._order
        if not value:
            return list(records)
        return records[bisect_left(keys, (_moment(value), "")) :]


class _Tokens:
    """Client-credentials tokens for one stand-in (basic or post client auth)."""

    def __init__(self, client_id: str, client_secret: str, ttl_s: int) -> None:
        self.client_id, self.client_secret, self.ttl_s = client_id, client_secret, ttl_s
        self.issued: dict[str, float] = {}
        self.requests = 0

    def token_endpoint(self, request: Request) -> Answer:
        self.requests += 1
        form = dict(parse_qsl(request.body.decode("utf-8")))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            client_id, _, secret = b64decode(header[6:]).decode("latin-1").partition(":")
        if form.get("grant_type") != "client_credentials":
            return Answer.json({"error": "unsupported_grant_type"}, 400)
        if client_id != self.client_id or secret != self.client_secret:
            return Answer.json({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(16)
        self.issued[token] = time.time() + self.ttl_s
        return Answer.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl_s}
        )

    def valid(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            return False
        expires = self.issued.get(header[7:])
        return expires is not None and expires > time.time()

    def expire_all(self) -> None:
        for token in list(self.issued):
            self.issued[token] = 0.0


def _limit(request: Request, default: int = 100) -> int:
    try:
        return max(1, min(10_000, int(request.query.get("limit") or default)))
    except ValueError:
        return default


UNAUTHORIZED = Answer.json(
    {"error": "unauthorized", "message": "missing or invalid credentials"}, 401
)


class ShopAPI(StandInServer):
    """A web shop: ``/api/customers`` (cursor paging), ``/api/orders`` (page
    numbers), ``/api/chats`` (``next`` links); API key or OAuth2 client credentials."""

    def __init__(
        self,
        customers: list[dict[str, Any]],
        orders: list[dict[str, Any]],
        chats: list[dict[str, Any]],
        *,
        api_key: str = "shop-api-key",
        client_id: str = "c360",
        client_secret: str = "shop-client-secret",
        token_ttl_s: int = 3600,
    ) -> None:
        super().__init__()
        self.customers, self.orders, self.chats = (
            Listing(customers),
            Listing(orders),
            Listing(chats),
        )
        self.api_key = api_key
        self.tokens = _Tokens(client_id, client_secret, token_ttl_s)
        self.route("POST", "/oauth/token", self.tokens.token_endpoint)
        self.route("GET", "/api/customers", self._customers)
        self.route("GET", "/api/orders", self._orders)
        self.route("GET", "/api/chats", self._chats)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("X-API-Key") == self.api_key or self.tokens.valid(request)

    def _customers(self, request: Request) -> Answer:
        if not self._authorized(request):
            return UNAUTHORIZED
        rows = self.customers.since(request.query.get("updated_since"))
        start = int(request.query.get("cursor") or 0)
        limit = _limit(request)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return Answer.json(
            {"data": page, "next_cursor": str(start + limit) if more else None, "has_more": more}
        )

    def _orders(self, request: Request) -> Answer:
        if not self._authorized(request):
            return UNAUTHORIZED
        rows = self.orders.since(request.query.get("updated_since"))
        per_page = max(1, int(request.query.get("per_page") or 50))
        page = max(1, int(request.query.get("page") or 1))
        total_pages = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        return Answer.json({"data": chunk, "page": page, "total_pages": total_pages})

    def _chats(self, request: Request) -> Answer:
        if not self._authorized(request):
            return UNAUTHORIZED
        since = request.query.get("updated_since")
        rows = self.chats.since(since)
        after = int(request.query.get("after") or 0)
        limit = _limit(request)
        chunk = rows[after : after + limit]
        next_link = None
        if after + limit < len(rows):
            query: dict[str, Any] = {"after": after + limit, "limit": limit}
            if since:
                query["updated_since"] = since
            next_link = f"{request.base_url}/api/chats?{urlencode(query)}"
        return Answer.json({"items": chunk, "next": next_link})


class SocialAPI(StandInServer):
    """A social platform: followers and interactions (cursor paging), avatars,
    OAuth2 client credentials at ``/sns/oauth/token``."""

    def __init__(
        self,
        followers: list[dict[str, Any]],
        interactions: list[dict[str, Any]],
        *,
        client_id: str = "c360-app",
        client_secret: str = "sns-app-secret",
        token_ttl_s: int = 7200,
    ) -> None:
        super().__init__()
        self.followers = Listing(followers, "uid")
        self.interactions = Listing(interactions)
        self.tokens = _Tokens(client_id, client_secret, token_ttl_s)
        self.route("POST", "/sns/oauth/token", self.tokens.token_endpoint)
        self.route("GET", "/sns/v1/followers", self._list(self.followers))
        self.route("GET", "/sns/v1/interactions", self._list(self.interactions))
        self.route("GET", "/sns/avatar", self._avatar)

    def _list(self, listing: Listing) -> Any:
        def serve(request: Request) -> Answer:
            if not self.tokens.valid(request):
                return UNAUTHORIZED
            rows = listing.since(request.query.get("updated_since"))
            start = int(request.query.get("cursor") or 0)
            limit = _limit(request)
            more = start + limit < len(rows)
            return Answer.json(
                {
                    "data": rows[start : start + limit],
                    "next_cursor": str(start + limit) if more else None,
                }
            )

        return serve

    def _avatar(self, request: Request) -> Answer:
        name = request.path.rsplit("/", 1)[-1]
        pixels = hashlib.sha256(f"avatar:{name}".encode()).digest() * 8
        return Answer(200, b"\x89PNG\r\n\x1a\n" + pixels, {"Content-Type": "image/png"})


class BureauAPI(StandInServer):
    """A credit bureau: person and enterprise reports by POST, priced per hit."""

    def __init__(
        self,
        persons: dict[str, dict[str, Any]],
        enterprises: dict[str, dict[str, Any]],
        *,
        api_key: str = "bureau-api-key",
        person_cost: float = 5.0,
        enterprise_cost: float = 2.0,
    ) -> None:
        super().__init__()
        self.persons, self.enterprises = persons, enterprises
        self.api_key = api_key
        self.person_cost, self.enterprise_cost = person_cost, enterprise_cost
        self.lookups: list[tuple[str, str, str]] = []
        self._counter = 0
        self.route("GET", "/v1/account", self._account)
        self.route("POST", "/v1/persons/report", self._report("person"))
        self.route("POST", "/v1/enterprises/report", self._report("enterprise"))

    def _account(self, request: Request) -> Answer:
        if request.headers.get("X-API-Key") != self.api_key:
            return UNAUTHORIZED
        return Answer.json({"account": "c360-demo", "lookups": len(self.lookups)})

    def _report(self, kind: str) -> Any:
        def serve(request: Request) -> Answer:
            if request.headers.get("X-API-Key") != self.api_key:
                return UNAUTHORIZED
            try:
                query = request.json()
            except ValueError:
                return Answer.json({"error": "invalid_request", "message": "body is not JSON"}, 400)
            key = "id_number" if kind == "person" else "uscc"
            subject = str((query or {}).get(key) or "").upper()
            purpose = str((query or {}).get("purpose") or "")
            if not subject or not purpose:
                return Answer.json(
                    {"error": "invalid_request", "message": f"{key} and purpose are required"}, 400
                )
            self._counter += 1
            self.lookups.append((kind, subject, purpose))
            request_id = f"req-{self._counter:06d}"
            table = self.persons if kind == "person" else self.enterprises
            report = table.get(subject)
            if report is None:
                return Answer.json(
                    {"error": "not_found", "request_id": request_id, "cost": 0.0}, 404
                )
            cost = self.person_cost if kind == "person" else self.enterprise_cost
            return Answer.json({"request_id": request_id, "cost": cost, **report})

        return serve
