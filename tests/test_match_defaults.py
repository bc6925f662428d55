"""The default match model: shipped as JSON in the ``--settings`` format, built
from the named-comparison library, general enough for Chinese and Latin-script
names, typo'd dates, ids and addresses; the deterministic rules are part of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select

from c360.platform import tables as t
from c360.platform.identity_rules import DeterministicRule
from c360.platform.locks import write_transaction
from c360.platform.matching.comparisons import CompiledComparison
from c360.platform.matching.features import record_features
from c360.platform.matching.library import (
    DEFAULT_SETTINGS_FILE,
    build_default_settings,
    exact_then_jaro_winkler,
    write_default_settings,
)
from c360.platform.matching.model import MatchModel
from c360.platform.matching.settings import MatchSettings, default_settings
from c360.platform.matching.store import save_model
from c360.platform.normalize import normalize_record
from c360.platform.sources import save_source
from tests.resolution_helpers import customer_of, ingest, person


def features(**fields: str) -> dict[str, str]:
    return record_features("person", normalize_record("person", fields).attributes)


def level_of(comparison: str, a: dict[str, str], b: dict[str, str]) -> str:
    settings = default_settings()
    compiled = CompiledComparison(next(c for c in settings.comparisons if c.name == comparison))
    index = compiled.level(a, b)
    return "null" if index < 0 else compiled.labels[index]


def test_the_shipped_json_is_what_the_library_builds(tmp_path: Path) -> None:
    assert default_settings() == build_default_settings()
    written = tmp_path / "defaults.json"
    write_default_settings(written)
    assert written.read_text(encoding="utf-8") == DEFAULT_SETTINGS_FILE.read_text(encoding="utf-8")
    again = MatchSettings.model_validate_json(written.read_text(encoding="utf-8"))
    assert again == default_settings()


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("张伟", "张伟", "exact"),
        ("张伟", "张玮", "same pinyin"),
        ("Zhang Wei", "张伟", "same pinyin"),
        ("HANS SCHMITT", "HRANS SCHMITT", "pinyin Jaro-Winkler >= 0.92"),
        ("Schmitt Hans", "Hans Schmitt", "same words in another order"),
        ("J. Smith", "John Smith", "same initial and family name"),
        ("张伟", "李娜", "different"),
    ],
)
def test_name_levels_for_characters_pinyin_typos_swaps_and_initials(
    a: str, b: str, expected: str
) -> None:
    assert level_of("name", features(name=a), features(name=b)) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1994-11-21", "1994-11-21", "exact"),
        ("1994-11-21", "1994-11-12", "one part differs or day/month swapped"),
        ("1994-03-07", "1994-07-03", "one part differs or day/month swapped"),
        ("1994-11-21", "1994-02-03", "same year"),
        ("1994-11-21", "1961-02-03", "different"),
    ],
)
def test_birth_dates_with_a_digit_off_or_day_and_month_swapped(
    a: str, b: str, expected: str
) -> None:
    assert level_of("birth_date", features(birth_date=a), features(birth_date=b)) == expected


def test_ids_addresses_and_a_missing_value() -> None:
    assert level_of("member_no", features(member_no="5304218"), features(member_no="5304213")) == (
        "one digit off"
    )
    moved = level_of(
        "address",
        features(address="8 stanley street miami winston hills nsw 4223"),
        features(address="winston hills 8 stanley street nsw 4223"),
    )
    assert moved == "mostly the same words"
    assert level_of("address", features(name="x y"), features(address="1 a st")) == "null"


def test_a_swapped_name_with_the_same_birth_date_links_by_default() -> None:
    model = MatchModel(default_settings())
    prior = model.prior_weight("person", 10_000)
    score = model.score(
        "person",
        features(name="Schmitt Hans", birth_date="1994-11-21"),
        features(name="Hans Schmitt", birth_date="1994-11-21"),
        prior_weight=prior,
    )
    assert score.probability >= default_settings().match_threshold
    other = model.score(
        "person",
        features(name="Anna Weber", birth_date="1994-11-21"),
        features(name="Hans Schmitt", birth_date="1994-11-21"),
        prior_weight=prior,
    )
    assert other.probability < 0.05


def test_a_similarity_level_without_its_threshold_is_refused_by_name() -> None:
    comparison = exact_then_jaro_winkler(
        "address", "address", (0.6, 1e-5), [], (0.3, 0.99), words=(0.1, 1e-4)
    )
    data = comparison.model_dump()
    data["levels"][1].pop("threshold")
    with pytest.raises(ValidationError, match="'mostly the same words': kind token_set needs"):
        MatchSettings.model_validate(
            {"comparisons": [data], "blocking_rules": [{"name": "a", "features": ["address"]}]}
        )


def test_deterministic_rules_are_settings_the_resolver_follows(sqlite_engine: Engine) -> None:
    """A rule added in the settings in force links on it ("rule:member card"); a
    rule left out links nothing."""
    settings = default_settings()
    settings.deterministic_rules = [
        DeterministicRule(name="member card", key="card", attributes=["member_no"], casefold=True),
        *(r for r in settings.deterministic_rules if r.key != "email"),
    ]
    with write_transaction(sqlite_engine) as conn:
        save_model(conn, MatchModel(settings), created_by="test")
    save_source(sqlite_engine, "shop", "offline", {})
    ingest(
        sqlite_engine,
        "shop",
        [
            person("1", name="张伟", member_no="M-1001"),
            person("2", name="Wei Zhang", member_no="m-1001"),
            person("3", name="李娜", email="lina@example.com"),
            person("4", name="王芳", email="lina@example.com"),
        ],
    )
    assert customer_of(sqlite_engine, "shop", "1") == customer_of(sqlite_engine, "shop", "2")
    assert customer_of(sqlite_engine, "shop", "3") != customer_of(sqlite_engine, "shop", "4")
    with sqlite_engine.connect() as conn:
        method = conn.execute(
            select(t.record_link.c.method)
            .join(t.source_record, t.source_record.c.id == t.record_link.c.record_id)
            .where(t.source_record.c.external_id == "2")
        ).scalar_one()
    assert method == "rule:member card"


def test_a_rule_key_that_could_not_be_stored_is_refused() -> None:
    with pytest.raises(ValidationError, match="key"):
        DeterministicRule(name="bad", key="a:b", attributes=["phone"])
