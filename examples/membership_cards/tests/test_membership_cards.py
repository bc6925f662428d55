"""The plugin keeps the c360 connector contract (checked by c360's own kit)."""

from __future__ import annotations

import json
from pathlib import Path

from membership_cards import CardsConnector

from c360.connectors.registry import connectors
from c360.connectors.testing import check_connector

CARDS = [
    {
        "card_no": "C-0001",
        "holder": "张伟",
        "mobile": "13800138000",
        "id_card": "110101199003076632",
        "updated": "2024-05-01T10:00:00+08:00",
    },
    {
        "card_no": "C-0002",
        "holder": "李娜",
        "mobile": "+86 139 0013 9000",
        "updated": "2024-05-02T09:30:00+08:00",
    },
    {"card_no": "C-0003", "holder": "Emily Chen", "mobile": "13700137000"},
    {"holder": "王芳", "mobile": "13600136000"},
]


def test_the_plugin_is_installed() -> None:
    assert connectors()["membership-cards"] is CardsConnector


def test_the_plugin_passes_the_contract_kit(tmp_path: Path) -> None:
    good = tmp_path / "cards.json"
    good.write_text(json.dumps(CARDS, ensure_ascii=False), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text('[{"card_no": "C-0001", "holder": "张', encoding="utf-8")
    report = check_connector(
        CardsConnector,
        {"path": str(good), "checkpoint_every": 1},
        malformed_config={"path": str(broken)},
        unreachable_config={"path": str(tmp_path / "missing.json")},
    )
    assert report.sync_counts["read"] == 4
    assert report.sync_counts["quarantined"] == 1
