"""``ApiConnector``, the base of the API connectors, against real HTTP servers on
loopback: a connector written as a few declarations checks, pages, resumes and
refines; ``check()`` gives up after two attempts and never waits out a long
``Retry-After``; refused credentials are not retried; and web, social and credit
share it (social checks every stream it pulls, credit checks with its free
account call and never a paid lookup). No database: the connector is read
directly, as the contract-test kit does."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest
from pydantic import Field, ValidationError

from c360.connectors.base import SourceConfigError
from c360.connectors.credit import CreditConfig, CreditConnector
from c360.connectors.http import (
    ApiClient,
    ApiConfig,
    ApiConnector,
    Pagination,
    Refine,
    StreamSpec,
)
from c360.connectors.social import SocialConfig, SocialConnector
from c360.demo.standins import (
    Answer,
    BureauAPI,
    Fault,
    Request,
    SocialAPI,
    StandInServer,
    credit_source_config,
    social_source_config,
)
from c360.platform.records import Checkpoint, IncomingRecord

MEMBERS = [
    {"no": f"M{i}", "姓名": name, "手机": f"1380013800{i}", "updated_at": f"2025-01-0{i}T09:00:00Z"}
    for i, name in enumerate(["张伟", "李娜", "王芳", "刘洋", "陈静"], start=1)
]
FAST = {"backoff_initial_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 2.0}


class MembersAPI(StandInServer):
    """A membership API: ``GET /members?page=&per_page=``, key in ``X-Key``."""

    def __init__(self) -> None:
        super().__init__()
        self.route("GET", "/members", self._members)

    def _members(self, request: Request) -> Answer:
        if request.headers.get("X-Key") != "k-123":
            return Answer.json({"message": "bad key"}, 401)
        page, size = int(request.query.get("page", 1)), int(request.query.get("per_page", 2))
        return Answer.json({"members": MEMBERS[(page - 1) * size : page * size]})


# --- a new API connector: the few declarations the base asks for


class MembersConfig(ApiConfig):
    """Config of a members source."""

    tag_source: str = Field(default="members-api")


class MembersConnector(ApiConnector[MembersConfig]):
    name: ClassVar[str] = "members"
    config_model = MembersConfig

    def pull_specs(self) -> list[StreamSpec]:
        return [
            StreamSpec(
                name="members",
                path="/members",
                id_field="no",
                pagination=Pagination(
                    style="page", records_path="members", size_param="per_page", page_size=2
                ),
                updated_since_param=None,
            )
        ]

    def refiner(self, spec: StreamSpec, client: ApiClient) -> Refine:
        def tag(record: IncomingRecord, item: dict[str, Any]) -> IncomingRecord:
            return dataclasses.replace(
                record, fields={**record.fields, "note": self.config.tag_source}
            )

        return tag


def members(server: MembersAPI, **changes: Any) -> MembersConnector:
    raw: dict[str, Any] = {
        "base_url": server.url,
        "auth": {"type": "api_key", "key": "k-123", "header": "X-Key"},
        "http": dict(FAST),
    }
    raw.update(changes)
    connector = MembersConnector.from_config(raw)
    assert isinstance(connector, MembersConnector)
    return connector


@pytest.fixture
def api() -> Any:
    with MembersAPI() as server:
        yield server


def test_a_connector_of_a_few_declarations_checks_pages_and_refines(api: MembersAPI) -> None:
    connector = members(api)
    [stream] = connector.streams()
    assert (stream.name, stream.kind, stream.description) == (
        "members",
        "person",
        "person records (GET /members)",
    )
    result = connector.check()
    assert result.succeeded, result.message
    assert result.message == f"{api.url}: members: 2 records on the first page"

    messages = list(connector.read("members", {}))
    records = [m for m in messages if isinstance(m, IncomingRecord)]
    assert [r.external_id for r in records] == ["M1", "M2", "M3", "M4", "M5"]
    assert records[0].fields == {"name": "张伟", "phone": "13800138001", "note": "members-api"}
    # a checkpoint after every page but the last, then the pass's cursor
    checkpoints = [m.state for m in messages if isinstance(m, Checkpoint)]
    assert checkpoints[0]["pass"]["page"] == {"page": 2}
    assert checkpoints[-1] == {"cursor": "2025-01-05T09:00:00Z"}

    resumed = list(connector.read("members", checkpoints[1]))  # mid-pass: from page 3
    assert [m.external_id for m in resumed if isinstance(m, IncomingRecord)] == ["M5"]


def test_an_unknown_stream_names_the_streams_there_are(api: MembersAPI) -> None:
    with pytest.raises(SourceConfigError, match=r"'orders' is not offered; streams: members"):
        list(members(api).read("orders", {}))


def test_check_gives_up_after_two_attempts_where_a_sync_would_go_on(api: MembersAPI) -> None:
    api.inject("/members", Fault.error(503), times=100)
    connector = members(api, http={**FAST, "max_attempts": 6})
    result = connector.check()
    assert not result.succeeded and "HTTP 503" in result.message
    assert "after 2 attempts" in result.message
    assert api.count("/members") == 2


def test_check_does_not_wait_out_a_long_retry_after(api: MembersAPI) -> None:
    api.inject("/members", Fault.rate_limited(retry_after=3600), times=10)
    result = members(api).check()
    assert not result.succeeded and "asks to wait 3600s" in result.message
    assert api.count("/members") == 1


def test_refused_credentials_fail_the_check_at_once(api: MembersAPI) -> None:
    result = members(api, auth={"type": "api_key", "key": "wrong", "header": "X-Key"}).check()
    assert not result.succeeded
    assert "HTTP 401" in result.message and "bad key" in result.message
    assert api.count("/members") == 1


def test_an_unreadable_first_page_fails_the_check_naming_the_stream(api: MembersAPI) -> None:
    api.inject("/members", Fault.malformed_json(), times=10)
    result = members(api).check()
    assert not result.succeeded
    assert result.message.startswith("members: GET /members: malformed JSON")


def test_every_api_source_needs_an_absolute_base_url() -> None:
    for model in (MembersConfig, SocialConfig, CreditConfig):
        with pytest.raises(ValidationError, match=r"base_url\n.*must start with http"):
            model.model_validate({"base_url": "api.example.com"})


def test_social_checks_every_stream_it_pulls() -> None:
    social = SocialAPI([], [])
    with social:
        connector = SocialConnector.from_config(social_source_config(social, page_size=2))
        result = connector.check()
        assert result.succeeded, result.message
        assert result.message == (
            f"{social.url}: followers: 0 records on the first page; "
            "interactions: 0 records on the first page"
        )
        social.inject("/sns/v1/interactions", Fault.error(404), times=10)
        broken = connector.check()
        assert not broken.succeeded and "/sns/v1/interactions: HTTP 404" in broken.message


def test_credit_checks_with_the_account_never_a_paid_lookup() -> None:
    bureau = BureauAPI({}, {})
    with bureau:
        raw = credit_source_config(bureau)
        result = CreditConnector.from_config(raw).check()
        assert result.succeeded and "account account=c360-demo" in result.message
        assert bureau.count("/v1/account") == 1 and bureau.lookups == []
        refused = CreditConnector.from_config(
            {**raw, "auth": {"type": "api_key", "key": "nope", "header": "X-API-Key"}}
        ).check()
        assert not refused.succeeded and "refused the credentials" in refused.message


def test_credit_calls_keep_to_lookups_per_s_unless_http_says_otherwise() -> None:
    config = CreditConfig.model_validate({"base_url": "http://127.0.0.1:9", "lookups_per_s": 4})
    assert config.client_options().rate_limit_per_s == 4
    own = config.model_copy(update={"http": config.http.model_copy(update={"rate_limit_per_s": 1})})
    assert own.client_options().rate_limit_per_s == 1
    with config.open_client() as client:
        assert client.throttle.interval == 0.25
