"""The ``social`` connector: followers and interactions from a social platform.

The platform's API (paths configurable)::

    GET /sns/v1/followers?limit=&cursor=&updated_since=
        {"data": [{"uid", "union_id", "nickname", "avatar_url", "gender", "region",
                   "phone"?, "real_name"?, "followed_at", "updated_at"}],
         "next_cursor": "..." | null}
    GET /sns/v1/interactions?limit=&cursor=&updated_since=
        {"data": [{"id", "uid", "type": "comment|like|dm", "text"?, "post_id",
                   "created_at", "updated_at"}], "next_cursor": ...}

Profiles feed identity resolution with what the platform shares: ``phone`` and
``real_name`` when the follower allowed it (then they are canonical ``phone`` and
``name``); ``union_id`` (the platform's id of the person across the brand's apps:
official account, mini program) becomes ``wechat_id``, an identity key;
``nickname`` and ``avatar_hash`` (SHA-256 of the avatar image, fetched when
``hash_avatars``) are kept as extra attributes; ``region`` (``广东 深圳``, ``Shenzhen``) becomes
``province`` and ``city``. Interactions are events of type ``comment``, ``like``
or ``message`` (a direct message) on the follower's timeline.

Paging, the ``updated_at`` cursor, retries and quarantine are the web
connector's (:mod:`c360.connectors.web.pull`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from c360.connectors.base import (
    CheckResult,
    Connector,
    Message,
    SourceConfigError,
    Stream,
    TransientSourceError,
)
from c360.connectors.http import (
    ApiClient,
    AuthConfig,
    HttpOptions,
    NoAuth,
    Pagination,
    RemoteApiError,
    pages,
)
from c360.connectors.web.pull import StreamSpec, read_pull_stream
from c360.platform.records import IncomingRecord

INTERACTION_TYPES = {"comment": "comment", "like": "like", "dm": "message", "message": "message"}


class SocialConfig(BaseModel):
    """Config of a ``social`` source."""

    base_url: str = Field(description="the platform's API, e.g. https://api.example-sns.com")
    auth: AuthConfig = Field(default_factory=NoAuth)
    http: HttpOptions = Field(default_factory=HttpOptions)
    platform: str = Field(default="wechat", description="channel name on timeline events")
    followers_path: str = "/sns/v1/followers"
    interactions_path: str = "/sns/v1/interactions"
    page_size: int = Field(default=100, ge=1, le=5000)
    hash_avatars: bool = Field(
        default=True, description="fetch each avatar image and keep its SHA-256 as avatar_hash"
    )


def _split_region(region: Any) -> dict[str, str]:
    if not isinstance(region, str) or not region.strip():
        return {}
    parts = region.replace("·", " ").replace("/", " ").split()
    if len(parts) >= 2:
        return {"province": parts[0], "city": parts[-1]}
    return {"city": parts[0]}


class SocialConnector(Connector[SocialConfig]):
    """Followers and their comments, likes and messages from a social platform."""

    name: ClassVar[str] = "social"
    title: ClassVar[str] = (
        "Social platform API: followers (nickname, avatar, union id, phone if shared) "
        "and their comments, likes, messages"
    )
    config_model = SocialConfig

    def specs(self) -> dict[str, StreamSpec]:
        c = self.config
        paging = Pagination(style="cursor", page_size=c.page_size)
        return {
            "followers": StreamSpec(
                name="followers",
                kind="person",
                path=c.followers_path,
                pagination=paging,
                id_field="uid",
                auto_map=False,
                fields={"real_name": "name", "phone": "phone", "gender": "gender"},
            ),
            "interactions": StreamSpec(
                name="interactions",
                kind="event",
                path=c.interactions_path,
                pagination=paging,
                id_field="id",
                auto_map=False,
                fields={"text": "text", "created_at": "occurred_at"},
                subject_field="uid",
                subject_stream="followers",
            ),
        }

    def streams(self) -> list[Stream]:
        return [
            Stream("followers", "person", "followers' profiles"),
            Stream("interactions", "event", "comments, likes and direct messages"),
        ]

    def check(self) -> CheckResult:
        options = self.config.http.model_copy(update={"max_attempts": 2, "max_retry_after_s": 5})
        spec = self.specs()["followers"]
        try:
            with ApiClient(self.config.base_url, self.config.auth, options) as client:
                first = next(pages(client, spec.path or "", spec.pagination))
        except (SourceConfigError, TransientSourceError) as exc:
            return CheckResult.failed(str(exc))
        if first.fetched.unreadable:
            return CheckResult.failed(f"{first.fetched.url}: {first.fetched.unreadable}")
        return CheckResult.ok(f"{self.config.base_url}: {len(first.items)} followers on page 1")

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Message]:
        spec = self.specs().get(stream)
        if spec is None:
            raise SourceConfigError(
                f"stream {stream!r} is not offered; streams: followers, interactions"
            )
        with ApiClient(self.config.base_url, self.config.auth, self.config.http) as client:
            refine = (
                _ProfileRefiner(client, self.config.hash_avatars)
                if stream == "followers"
                else _InteractionRefiner(self.config.platform)
            )
            yield from read_pull_stream(client, spec, state, refine)


class _ProfileRefiner:
    def __init__(self, client: ApiClient, hash_avatars: bool) -> None:
        self.client = client
        self.hash_avatars = hash_avatars
        self.avatars: dict[str, str | None] = {}

    def avatar_hash(self, url: str) -> str | None:
        if url not in self.avatars:
            try:
                content = self.client.get_bytes(url)
            except RemoteApiError:  # a missing avatar is no reason to fail the follower
                content = b""
            self.avatars[url] = hashlib.sha256(content).hexdigest() if content else None
        return self.avatars[url]

    def __call__(self, record: IncomingRecord, item: dict[str, Any]) -> IncomingRecord:
        fields = dict(record.fields)
        if item.get("nickname") not in (None, ""):
            fields["nickname"] = item["nickname"]
        if item.get("union_id") not in (None, ""):
            # the platform's id of the person across the brand's apps: a WeChat id
            fields["wechat_id"] = item["union_id"]
        fields.update(_split_region(item.get("region")))
        given = item.get("avatar_hash")
        if isinstance(given, str) and given:
            fields["avatar_hash"] = given
        elif self.hash_avatars and isinstance(item.get("avatar_url"), str) and item["avatar_url"]:
            digest = self.avatar_hash(item["avatar_url"])
            if digest:
                fields["avatar_hash"] = digest
        return dataclasses.replace(record, fields=fields)


class _InteractionRefiner:
    def __init__(self, platform: str) -> None:
        self.platform = platform

    def __call__(self, record: IncomingRecord, item: dict[str, Any]) -> IncomingRecord:
        fields = dict(record.fields)
        kind = str(item.get("type") or "").strip().lower()
        fields["event_type"] = INTERACTION_TYPES.get(kind, kind or "interaction")
        fields["channel"] = self.platform
        if item.get("post_id") not in (None, ""):
            fields["post_id"] = item["post_id"]
        return dataclasses.replace(record, fields=fields)
