"""Configuration of a ``web`` source: the API to pull from, how to authenticate,
its streams, and the webhook that pushes to it."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from c360.connectors.http import ApiConfig, StreamSpec


class WebhookConfig(BaseModel):
    """Pushed deliveries at ``POST /hooks/<source>``: each is signed with HMAC-SHA256
    over ``<delivery id>.<timestamp>.<body>`` and carries ``{"id", "type", "data"}``
    (paths configurable); ``routes`` sends each type to a stream, whose mapping
    turns ``data`` into a record exactly as a pulled item of that stream."""

    secret: str = Field(min_length=8, description="shared HMAC secret, or env:NAME")
    signature_header: str = "X-C360-Signature"
    timestamp_header: str = "X-C360-Timestamp"
    delivery_header: str = Field(
        default="X-C360-Delivery", description="the delivery's unique id (required, signed)"
    )
    tolerance_s: int = Field(
        default=300, ge=1, le=86_400, description="how old (or early) a timestamp may be"
    )
    id_path: str = "id"
    type_path: str = "type"
    data_path: str = "data"
    routes: dict[str, str] = Field(
        description="delivery type (fnmatch pattern, e.g. order.*) -> stream name"
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, le=50_000_000)


class WebConfig(ApiConfig):
    """Config of a ``web`` source: a JSON-over-HTTP API (sign-ups, orders, chats)."""

    base_url: str = Field(description="e.g. https://shop.example.com")
    streams: list[StreamSpec] = Field(min_length=1)
    webhook: WebhookConfig | None = None

    @model_validator(mode="after")
    def _streams_unique_and_routed(self) -> WebConfig:
        seen: set[str] = set()
        for i, spec in enumerate(self.streams):
            if spec.name in seen:
                raise ValueError(f"streams[{i}].name: stream {spec.name!r} is defined twice")
            seen.add(spec.name)
        if self.webhook is not None:
            for pattern, stream in self.webhook.routes.items():
                if stream not in seen:
                    raise ValueError(
                        f"webhook.routes: {pattern!r} goes to stream {stream!r}, which is not "
                        f"defined; streams: {', '.join(sorted(seen))}"
                    )
        return self

    def stream(self, name: str) -> StreamSpec | None:
        for spec in self.streams:
            if spec.name == name:
                return spec
        return None
