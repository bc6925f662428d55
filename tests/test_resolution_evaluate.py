"""``c360 resolve --evaluate TRUTH.csv``: the links in force scored against a
user's truth file (external id -> entity), with partial keys matched to the
stored records and bad files refused in one line. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from c360.cli.resolution import resolution_app
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from tests.resolution_helpers import customer_of, ingest, person


@pytest.fixture
def linked(engine: Engine) -> Engine:
    for name in ("web", "pos"):
        save_source(engine, name, "offline", {})
    ingest(
        engine,
        "web",
        [
            person("a", name="张伟", email="zw@example.com"),
            person("b", name="张伟", email="zw@example.com"),
            person("c", name="李娜", phone="13900139000"),
        ],
    )
    ingest(engine, "pos", [person("a", name="李娜", phone="13900139000")])
    assert customer_of(engine, "web", "a") == customer_of(engine, "web", "b")
    assert customer_of(engine, "web", "c") == customer_of(engine, "pos", "a")
    return engine


def evaluate(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> tuple[int, str]:
    truth = tmp_path / "truth.csv"
    truth.write_text(text, encoding="utf-8")
    monkeypatch.setenv("C360_DATABASE_URL", db_url)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(resolution_app, ["resolve", "--evaluate", str(truth)])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_scores_the_links_against_the_truth(
    linked: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = evaluate(
        db_url,
        tmp_path,
        monkeypatch,
        "external_id,entity_id,source\na,E1,web\nb,E1,\nc,E2,\na,E2,pos\nzzz,E9,\na,E1,\n",
    )
    assert code == 0, out
    assert "records=4 unlinked=0 unknown=1 ambiguous=1" in out  # 'a' alone names two records
    assert out.strip().splitlines()[-1] == "precision=1.0000 recall=1.0000 f1=1.0000"
    code, out = evaluate(
        db_url,
        tmp_path,
        monkeypatch,
        "source,stream,external_id,entity_id\n"
        "web,people,a,E1\nweb,people,b,E3\nweb,people,c,E2\npos,people,a,E2\n",
    )
    assert code == 0, out
    assert "true_pairs=1 predicted_pairs=2 correct_pairs=1" in out
    assert out.strip().splitlines()[-1] == "precision=0.5000 recall=1.0000 f1=0.6667"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id,entity\n1,E1\n", "missing column external_id, entity_id"),
        ("external_id,entity_id\na,E1\n,E2\n", "line 3: external_id is empty"),
        (
            "external_id,entity_id,source\na,E1,web\na,E2,web\n",
            "line 3: external_id 'a' is given two entities",
        ),
        ("external_id,entity_id\nnobody,E1\n", "none of its 1 rows names a stored record"),
    ],
)
def test_a_bad_truth_file_is_refused_in_one_line(
    linked: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    reason: str,
) -> None:
    code, out = evaluate(db_url, tmp_path, monkeypatch, text)
    assert code == 2
    assert reason in " ".join(out.split())
