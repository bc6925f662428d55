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

Paging, the ``updated_at`` cursor, retries, quarantine, ``check()`` and
``read()`` are :class:`~c360.connectors.http.ApiConnector`'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

from pydantic import Field

from c360.connectors.http import (
    ApiClient,
    ApiConfig,
    ApiConnector,
    Pagination,
    Refine,
    RemoteApiError,
    StreamSpec,
)
from c360.platform.records import IncomingRecord

INTERACTION_TYPES = {"comment": "comment", "like": "like", "dm": "message", "message": "message"}


class SocialConfig(ApiConfig):
    """Config of a ``social`` source."""

    base_url: str = Field(description="the platform's API, e.g. https://api.example-sns.com")
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


class SocialConnector(ApiConnector[SocialConfig]):
    """Followers and their comments, likes and messages from a social platform."""

    name: ClassVar[str] = "social"
    title: ClassVar[str] = (
        "Social platform API: followers (nickname, avatar, union id, phone if shared) "
        "and their comments, likes, messages"
    )
    config_model = SocialConfig
    stream_descriptions: ClassVar[dict[str, str]] = {
        "followers": "followers' profiles",
        "interactions": "comments, likes and direct messages",
    }

    def pull_specs(self) -> list[StreamSpec]:
        c = self.config
        paging = Pagination(style="cursor", page_size=c.page_size)
        return [
            StreamSpec(
                name="followers",
                kind="person",
                path=c.followers_path,
                pagination=paging,
                id_field="uid",
                auto_map=False,
                fields={"real_name": "name", "phone": "phone", "gender": "gender"},
            ),
            StreamSpec(
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
        ]

    def refiner(self, spec: StreamSpec, client: ApiClient) -> Refine:
        if spec.name == "followers":
            return _ProfileRefiner(client, self.config.hash_avatars)
        return _InteractionRefiner(self.config.platform)


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
