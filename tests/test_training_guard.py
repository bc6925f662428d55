"""Training never makes the match model worse: EM within sanity bounds, and a
trained model that would unlink most of what the model in force links is
refused, with the reason, leaving that model in force (SQLite: the guard is
arithmetic over records read once; the database adds nothing)."""

from __future__ import annotations

import itertools
import math
import random
import string
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from c360.cli.resolution import resolution_app
from c360.demo.evaluation import score_links
from c360.platform.matching.rebuild import rebuild, train
from c360.platform.matching.settings import MatchSettings, default_settings
from c360.platform.matching.store import active_version
from c360.platform.matching.training import expectation_maximisation, sane_m
from c360.platform.settings import get_settings
from c360.platform.sources import save_source
from tests.resolution_helpers import customer_of, ingest, person

_SYLLABLES = [
    *("ka", "lo", "mi", "ra", "sen", "tu", "ber", "han", "ves", "dor"),
    *("lin", "mar", "fel", "gus", "ot", "rik", "sta", "wen", "ul", "ze"),
]
GIVEN = sorted({a + b for a in _SYLLABLES for b in _SYLLABLES})[:300]
FAMILY = sorted({a + b + c for a in _SYLLABLES[:10] for b in _SYLLABLES for c in _SYLLABLES[5:]})


def test_bounds_order_the_weights_and_leave_nothing_certain() -> None:
    u = [0.001, 0.01, 0.3, 0.689]
    m = sane_m([0.99, 0.0, 0.01, 0.0], u)
    weights = [math.log2(mi / ui) for mi, ui in zip(m, u, strict=True)]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(weights))  # closer never less
    assert weights[0] > 0 > weights[-1]
    assert all(0 < v < 1 for v in m) and abs(sum(m) - 1.0) < 1e-5
    # a near miss may stay evidence against, as long as looser levels weigh less
    assert sane_m([0.9, 0.02, 0.08], [0.01, 0.05, 0.94])[1] == pytest.approx(0.02, rel=1e-6)


def test_em_does_not_learn_a_closer_level_is_worse_than_a_looser_one() -> None:
    """Pairs where the "matches" (agreeing on comparison 0) are namesakes who
    hardly ever come close on comparison 1 would teach plain EM that coming
    close there weighs less than being far apart."""
    rng = random.Random(3)
    patterns: Counter[tuple[int, ...]] = Counter()
    for _ in range(5000):
        namesake = rng.random() < 0.7
        close = rng.random() < (0.001 if namesake else 0.3)
        patterns[(0 if namesake else 1, 1 if close else 2)] += 1
    u = [[0.01, 0.99], [0.05, 0.05, 0.9]]
    _, m = expectation_maximisation(patterns, [[0.9, 0.1], [0.8, 0.1, 0.1]], u, set(), 0.5, 100)
    weights = [math.log2(mi / ui) for mi, ui in zip(m[1], u[1], strict=True)]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(weights))


def _people(engine: Engine) -> None:
    """Pairs the *model* links (no strong identifier in common): a name with one
    typo, the same birth date and address."""
    save_source(engine, "crm", "offline", {})
    rng = random.Random(11)
    records = []
    for i in range(60):
        name = f"{GIVEN[i]} {FAMILY[i * 7]}"
        born = f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}"
        address = f"{i + 1} Elbchaussee, Hamburg"
        records.append(person(f"a{i}", name=name, birth_date=born, address=address))
        typo = name[:3] + rng.choice(string.ascii_lowercase) + name[4:]
        records.append(person(f"b{i}", name=typo, birth_date=born, address=address))
    ingest(engine, "crm", records)


def _exact_names_only() -> MatchSettings:
    """Settings a user might write: compare names, exactly, and nothing else."""
    careless = default_settings().model_copy(deep=True)
    careless.name = "exact names only"
    careless.comparisons = [c for c in careless.comparisons if c.name == "name"]
    levels = careless.comparisons[0].levels
    careless.comparisons[0].levels = [levels[0], levels[-1]]
    return careless


def test_a_trained_model_that_would_unlink_most_links_is_refused_and_says_why(
    sqlite_engine: Engine,
) -> None:
    _people(sqlite_engine)
    linked = sum(
        customer_of(sqlite_engine, "crm", f"a{i}") == customer_of(sqlite_engine, "crm", f"b{i}")
        for i in range(60)
    )
    assert linked >= 50  # the default model links the typos
    careless = _exact_names_only()
    outcome = train(sqlite_engine, careless, seed=1)
    assert not outcome.verdict.accepted and not outcome.stored
    assert "would unlink" in outcome.verdict.reason
    assert outcome.verdict.links_kept < outcome.verdict.links_in_force / 2
    with sqlite_engine.connect() as conn:
        assert active_version(conn) is None  # the defaults stay in force
    report = rebuild(sqlite_engine, settings=careless, seed=1)
    assert report.training_verdict is not None and not report.training_verdict.accepted
    after = sum(
        customer_of(sqlite_engine, "crm", f"a{i}") == customer_of(sqlite_engine, "crm", f"b{i}")
        for i in range(60)
    )
    assert after == linked
    forced = train(sqlite_engine, careless, seed=1, force=True)
    assert forced.stored and forced.model.version is not None


def test_the_cli_prints_the_refusal_and_exits_1(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _people(sqlite_engine)
    careless = _exact_names_only()
    path = tmp_path / "careless.json"
    path.write_text(careless.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("C360_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(resolution_app, ["resolve", "--settings", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "training guard: refused" in result.output and "would unlink" in result.output


def _latin_name_and_birth_date(n: int, seed: int) -> list[tuple[str, int, dict[str, str]]]:
    """The issue's source: each person twice, the second with one typo in the
    name or in the birth date (``HANS SCHMITT`` / ``HRANS SCHMITT``)."""
    rng = random.Random(seed)
    rows = []
    for entity in range(n):
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}".upper()
        born = f"{rng.randrange(1940, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        rows.append((f"a{entity}", entity, {"name": name, "birth_date": born}))
        if rng.random() < 0.5:
            at = rng.randrange(1, len(name))
            name = name[:at] + rng.choice(string.ascii_uppercase) + name[at:]
        else:
            at = rng.choice([2, 3, 5, 6, 8, 9])
            born = born[:at] + str(rng.randrange(10)) + born[at + 1 :]
        rows.append((f"b{entity}", entity, {"name": name, "birth_date": born}))
    rng.shuffle(rows)
    return rows


def test_training_on_a_latin_name_and_birth_date_source_does_not_lower_f1(
    sqlite_engine: Engine,
) -> None:
    rows = _latin_name_and_birth_date(500, seed=1)
    save_source(sqlite_engine, "crm", "offline", {})
    ingest(sqlite_engine, "crm", [person(ext, **fields) for ext, _, fields in rows])
    truth = {("crm", "people", ext): str(entity) for ext, entity, _ in rows}
    before = score_links(sqlite_engine, truth)
    report = rebuild(sqlite_engine, seed=1)
    after = score_links(sqlite_engine, truth)
    assert report.training_verdict is not None
    assert after.f1 >= before.f1, (before, after, report.training_verdict)
    assert after.precision >= 0.97
