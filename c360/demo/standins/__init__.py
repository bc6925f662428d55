"""Loopback stand-ins for the remote APIs c360's HTTP connectors talk to — a web
shop, a social platform and a credit bureau — for the tests and for ``c360 demo``.

::

    with start_standins(seed=360, people=10_000) as standins:
        for source in standins.sources():
            save_source(engine, source.name, source.connector, source.config, trust=source.trust)
        ...  # sync them over real HTTP while the block runs

Each stand-in is a real HTTP server on 127.0.0.1 on a free port, serving data drawn
from the demo's own invented world (:mod:`.data`), so its people are the people of
the demo's file exports. Faults can be injected on any path
(:meth:`StandInServer.inject`).

May import: ``c360.connectors`` and ``c360.platform``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from c360.demo.generate import DemoSource
from c360.demo.standins.apis import BureauAPI, Listing, ShopAPI, SocialAPI
from c360.demo.standins.data import StandInData, build_data
from c360.demo.standins.server import Answer, Fault, Request, StandInServer

__all__ = [
    "Answer",
    "BureauAPI",
    "Fault",
    "Listing",
    "Request",
    "ShopAPI",
    "SocialAPI",
    "StandInData",
    "StandInServer",
    "StandIns",
    "build_data",
    "shop_config_at",
    "shop_source_config",
    "start_standins",
]

WEBHOOK_SECRET = "demo-webhook-secret"


def shop_source_config(
    shop: ShopAPI, *, page_size: int = 500, webhook_secret: str | None = WEBHOOK_SECRET
) -> dict[str, Any]:
    """A ``web`` source config for the shop stand-in (OAuth2 client credentials;
    customers by cursor, orders by page number, chats by ``next`` link; webhook)."""
    return shop_config_at(
        shop.url,
        shop.tokens.client_id,
        shop.tokens.client_secret,
        page_size=page_size,
        webhook_secret=webhook_secret,
    )


def shop_config_at(
    url: str,
    client_id: str,
    client_secret: str,
    *,
    page_size: int = 500,
    webhook_secret: str | None = WEBHOOK_SECRET,
) -> dict[str, Any]:
    """:func:`shop_source_config` for a shop stand-in known only by its URL and
    client credentials (one running in another process)."""
    config: dict[str, Any] = {
        "base_url": url,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": "/oauth/token",
            "client_id": client_id,
            "client_secret": client_secret,
        },
        "streams": [
            {
                "name": "customers",
                "kind": "person",
                "path": "/api/customers",
                "pagination": {"style": "cursor", "page_size": page_size},
                "fields": {"mobile": "phone", "name": "name", "email": "email", "city": "city"},
            },
            {
                "name": "orders",
                "kind": "event",
                "path": "/api/orders",
                "pagination": {"style": "page", "page_size": page_size, "size_param": "per_page"},
                "event_type": "order",
                "subject_field": "customer_id",
                "subject_stream": "customers",
                "fields": {
                    "amount": "amount",
                    "currency": "currency",
                    "channel": "channel",
                    "created_at": "occurred_at",
                },
            },
            {
                "name": "chats",
                "kind": "event",
                "path": "/api/chats",
                "pagination": {
                    "style": "next_link",
                    "page_size": page_size,
                    "records_path": "items",
                },
                "event_type": "message",
                "subject_field": "customer_id",
                "subject_stream": "customers",
                "fields": {"text": "text", "created_at": "occurred_at"},
            },
        ],
    }
    if webhook_secret:
        config["webhook"] = {
            "secret": webhook_secret,
            "routes": {"customer.*": "customers", "order.*": "orders", "chat.*": "chats"},
        }
    return config


def social_source_config(social: SocialAPI, *, page_size: int = 500) -> dict[str, Any]:
    """A ``social`` source config for the social stand-in."""
    return {
        "base_url": social.url,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": "/sns/oauth/token",
            "client_id": social.tokens.client_id,
            "client_secret": social.tokens.client_secret,
            "method": "client_secret_post",
        },
        "platform": "wechat",
        "page_size": page_size,
    }


def credit_source_config(bureau: BureauAPI, watchlist: list[str] | None = None) -> dict[str, Any]:
    """A ``credit`` source config for the bureau stand-in."""
    return {
        "base_url": bureau.url,
        "auth": {"type": "api_key", "key": bureau.api_key, "header": "X-API-Key"},
        "provider": "demo-bureau",
        "person_cost": bureau.person_cost,
        "organization_cost": bureau.enterprise_cost,
        "daily_budget": 500.0,
        "lookups_per_s": 50.0,
        "watchlist": list(watchlist or []),
    }


@dataclass
class StandIns:
    """The three running stand-ins and the data they serve."""

    shop: ShopAPI
    social: SocialAPI
    bureau: BureauAPI
    data: StandInData

    def sources(self) -> list[DemoSource]:
        """The sources to register for the demo (web, social, credit)."""
        watchlist = sorted(self.data.enterprises)[:20]
        return [
            DemoSource(
                name="web_shop",
                connector="web",
                config=shop_source_config(self.shop),
                trust=60,
                description="The web shop's API over HTTP: accounts, orders, service chats; "
                "webhook at /hooks/web_shop.",
            ),
            DemoSource(
                name="social_api",
                connector="social",
                config=social_source_config(self.social),
                trust=30,
                description="The brand's social account over HTTP: followers, comments, "
                "likes, direct messages.",
            ),
            DemoSource(
                name="credit_bureau",
                connector="credit",
                config=credit_source_config(self.bureau, watchlist),
                trust=85,
                description="A credit bureau over HTTP: lookups on demand (c360 enrich), "
                "registrations of 20 watched companies.",
            ),
        ]


@contextmanager
def start_standins(
    seed: int = 360, people: int = 10_000, companies: int = 1_000
) -> Iterator[StandIns]:
    """Start the three stand-ins on free loopback ports, serving the demo world of
    ``generate_demo_data(seed=seed, people=people, companies=companies)``; they
    stop when the block ends."""
    data = build_data(seed, people, companies)
    shop = ShopAPI(data.customers, data.orders, data.chats)
    social = SocialAPI(data.followers, data.interactions)
    bureau = BureauAPI(data.persons, data.enterprises)
    started: list[StandInServer] = []
    try:
        servers: tuple[StandInServer, ...] = (shop, social, bureau)
        for server in servers:
            server.start()
            started.append(server)
        yield StandIns(shop, social, bureau, data)
    finally:
        for server in started:
            server.stop()
