"""The plugin keeps the c360 connector contract (checked by c360's own kit), and
its command is part of ``c360``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from membership_cards import CardsConnector

from c360.connectors import open_database
from c360.connectors.registry import connectors
from c360.connectors.testing import check_connector
from c360.platform.sources import save_source

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


def _c360(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, C360_DATABASE_URL=database_url, C360_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "c360.cli", *args], env=env, capture_output=True, text=True
    )


def test_the_plugin_adds_a_command(tmp_path: Path) -> None:
    cards = tmp_path / "cards.json"
    cards.write_text(json.dumps(CARDS, ensure_ascii=False), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'c360.db'}"
    save_source(open_database(url), "cards", "membership-cards", {"path": str(cards)}, trust=80)
    listed = _c360("cards-sources", database_url=url, data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == f"cards: ok: 4 cards in {cards}"


def test_its_command_answers_an_unreachable_database_in_one_line(tmp_path: Path) -> None:
    down = _c360(
        "cards-sources", database_url="postgresql://c360@127.0.0.1:1/none", data_dir=tmp_path
    )
    assert down.returncode == 2
    assert down.stderr.startswith("error: cannot open the database postgresql")
    assert len(down.stderr.strip().splitlines()) == 1 and "Traceback" not in down.stderr
