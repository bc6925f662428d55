"""The contract-test kit on every built-in connector (offline, web, social,
credit) against real data and loopback servers, and on a connector that breaks
the contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from c360.connectors.base import CheckResult, Connector, Stream
from c360.connectors.credit import CreditConnector
from c360.connectors.offline import OfflineConnector
from c360.connectors.social import SocialConnector
from c360.connectors.testing import ContractViolation, check_connector
from c360.connectors.web import WebConnector
from c360.demo.standins import (
    BureauAPI,
    Fault,
    ShopAPI,
    SocialAPI,
    credit_source_config,
    shop_source_config,
    social_source_config,
)
from c360.platform.records import Checkpoint, IncomingRecord
from tests.connector_payloads import CHATS, CUSTOMERS, ENTERPRISES, ORDERS, PERSONS
from tests.helpers import credit_code

FOLLOWERS = [
    {
        "uid": "wx_001",
        "union_id": "oUnion001",
        "nickname": "小鱼儿",
        "avatar_url": "/sns/avatar/wx_001.png",
        "gender": "female",
        "region": "广东 深圳",
        "phone": "13800138000",
        "real_name": "张伟",
        "updated_at": "2025-01-01T10:00:00+08:00",
    },
    {
        "uid": "wx_002",
        "union_id": "oUnion002",
        "nickname": "Lucky",
        "avatar_url": "/sns/avatar/wx_002.png",
        "gender": "male",
        "region": "Shanghai",
        "updated_at": "2025-01-02T10:00:00+08:00",
    },
    {
        "uid": "wx_003",
        "union_id": "oUnion003",
        "nickname": "晴天",
        "region": "浙江 杭州",
        "updated_at": "2025-01-03T10:00:00+08:00",
    },
]
INTERACTIONS = [
    {
        "id": "i1",
        "uid": "wx_001",
        "type": "comment",
        "text": "新品好看！",
        "post_id": "p1",
        "created_at": "2025-02-01T10:00:00+08:00",
        "updated_at": "2025-02-01T10:00:00+08:00",
    },
    {
        "id": "i2",
        "uid": "wx_002",
        "type": "like",
        "post_id": "p1",
        "created_at": "2025-02-02T10:00:00+08:00",
        "updated_at": "2025-02-02T10:00:00+08:00",
    },
    {
        "id": "i3",
        "uid": "wx_003",
        "type": "dm",
        "text": "Is the store open on Sunday?",
        "created_at": "2025-02-03T10:00:00+08:00",
        "updated_at": "2025-02-03T10:00:00+08:00",
    },
]


def test_offline_connector_passes_the_kit(tmp_path: Path) -> None:
    good = tmp_path / "members.csv"
    good.write_text(
        "会员卡号,姓名,手机\nM1,张伟,13800138000\nM2,Emily Chen,13900139000\nM3,王芳,13700137000\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"编号": "A1", "姓名": "李娜"}\n{"编号": "A2", "姓名\n', encoding="utf-8")
    report = check_connector(
        OfflineConnector,
        {"files": [{"path": str(good), "id_column": "会员卡号"}], "checkpoint_every": 1},
        malformed_config={"files": [{"path": str(bad)}]},
        unreachable_config={"files": [{"path": str(tmp_path / "missing.csv")}]},
    )
    assert report.sync_counts["new"] == 3


def test_web_connector_passes_the_kit() -> None:
    with ShopAPI(CUSTOMERS, ORDERS, CHATS) as shop:
        config = shop_source_config(shop, page_size=2, webhook_secret=None)
        with ShopAPI(CUSTOMERS, ORDERS, CHATS) as broken:
            broken.inject("/api/", Fault.truncated_json(), times=10_000)
            malformed = shop_source_config(broken, page_size=2, webhook_secret=None)
            malformed["http"] = {"max_attempts": 2, "backoff_initial_s": 0.01}
            report = check_connector(
                WebConnector,
                config,
                malformed_config=malformed,
                unreachable_config={
                    **config,
                    "base_url": "http://127.0.0.1:9",
                    "http": {"max_attempts": 1, "connect_timeout_s": 0.5},
                },
            )
    assert report.sync_counts == {
        "read": 15,
        "new": 15,
        "updated": 0,
        "unchanged": 0,
        "quarantined": 0,
    }


def test_social_connector_passes_the_kit_and_maps_profiles() -> None:
    with SocialAPI(FOLLOWERS, INTERACTIONS) as social:
        config = social_source_config(social, page_size=2)
        report = check_connector(SocialConnector, config)
        with SocialAPI(FOLLOWERS, INTERACTIONS) as broken:
            broken.inject("/sns/v1/followers", Fault.malformed_json(), times=10_000, after=1)
            malformed = social_source_config(broken, page_size=2)
            malformed["http"] = {"max_attempts": 2, "backoff_initial_s": 0.01}
            check_connector(SocialConnector, config, malformed_config=malformed, sync=False)
    zhang = next(r for r in report.reads["followers"].records if r.external_id == "wx_001")
    assert zhang.fields["name"] == "张伟" and zhang.fields["phone"] == "13800138000"
    assert zhang.fields["wechat_id"] == "oUnion001" and zhang.fields["nickname"] == "小鱼儿"
    assert (zhang.fields["province"], zhang.fields["city"]) == ("广东", "深圳")
    assert len(zhang.fields["avatar_hash"]) == 64
    events = {r.external_id: r.fields for r in report.reads["interactions"].records}
    assert events["i3"]["event_type"] == "message" and events["i2"]["event_type"] == "like"
    assert events["i1"]["subject_external_id"] == "wx_001" and events["i1"]["channel"] == "wechat"


def test_credit_connector_passes_the_kit() -> None:
    codes = sorted(ENTERPRISES)
    with BureauAPI(dict(PERSONS), dict(ENTERPRISES)) as bureau:
        bureau.enterprises[credit_code("91440300MA5XXXXX1")] = {"credit": {"score": "n/a"}}
        config = credit_source_config(bureau, codes)
        malformed = credit_source_config(bureau, [credit_code("91440300MA5XXXXX1")])
        report = check_connector(CreditConnector, config, malformed_config=malformed)
    assert report.sync_counts["new"] == 2


class LossyConfig(BaseModel):
    records: int = 6


class LossyConnector(Connector[LossyConfig]):
    """Checkpoints one record too far: resuming skips a record."""

    name = "test-lossy"
    title = "loses a record on resume"
    config_model = LossyConfig

    def check(self) -> CheckResult:
        return CheckResult.ok()

    def streams(self) -> list[Stream]:
        return [Stream("people", "person")]

    def read(self, stream: str, state: dict[str, Any]) -> Iterator[Any]:
        for i in range(state.get("next", 0), self.config.records):
            yield IncomingRecord("people", f"p{i}", "person", {"name": f"刘{i}"})
            yield Checkpoint("people", {"next": i + 2})
        yield Checkpoint("people", {"next": self.config.records})


def test_the_kit_names_a_connector_that_loses_records_on_resume() -> None:
    with pytest.raises(
        ContractViolation, match=r"\[resume\] people: resuming from checkpoint 0 loses \['p1'\]"
    ):
        check_connector(LossyConnector, {})
