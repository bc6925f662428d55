"""The match model on its own: settings as data, comparison levels, Fellegi–Sunter
scoring with term frequencies, and unsupervised training."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter

import pytest
from pydantic import ValidationError

from c360.platform.matching.blocking import record_keys, value_key
from c360.platform.matching.comparisons import NULL, CompiledComparison, date_typo
from c360.platform.matching.features import birth_city, city_core, record_features
from c360.platform.matching.model import MatchModel, probability
from c360.platform.matching.settings import MatchSettings, default_settings
from c360.platform.matching.training import expectation_maximisation, train_model
from c360.platform.normalize import normalize_record
from tests.helpers import resident_id


def features(**fields: str) -> dict[str, str]:
    return record_features("person", normalize_record("person", fields).attributes)


def test_settings_are_plain_json_and_validated() -> None:
    settings = default_settings()
    again = MatchSettings.model_validate_json(settings.model_dump_json())
    assert again == settings
    broken = settings.model_dump(mode="json")
    broken["comparisons"][0]["levels"].pop()  # no "else" level at the end
    with pytest.raises(ValidationError, match="last level must be 'else'"):
        MatchSettings.model_validate(broken)


def test_features_fold_cities_and_read_the_birthplace_of_an_id_number() -> None:
    assert city_core("广东 深圳") == city_core("深圳市") == "深圳"
    assert birth_city("440305") == "深圳"
    assert birth_city("110101") == "北京"
    f = features(name="张 伟", id_number=resident_id(region="310104"), email="ZW@QQ.com")
    assert f["name"] == "张伟" and f["name_pinyin"] == "zhangwei"
    assert f["birth_city"] == "上海" and f["email_local"] == "zw"


def test_name_levels_use_pinyin_and_jaro_winkler() -> None:
    name = CompiledComparison(default_settings().comparisons[0])
    assert name.labels[name.level(features(name="张伟"), features(name="张伟"))] == "exact"
    assert name.labels[name.level(features(name="张伟"), features(name="张玮"))] == "same pinyin"
    assert name.level(features(name="张伟"), features(name="李娜")) == len(name.labels) - 1
    assert name.level(features(name="张伟"), features(phone="13800138000")) == NULL


def test_date_typos() -> None:
    assert date_typo("1990-03-07", "1990-07-03")  # day and month swapped
    assert date_typo("1990-03-07", "1990-03-08")
    assert date_typo("19900307", "19900807")
    assert not date_typo("1990-03-07", "1985-11-21")


def test_weights_and_term_frequencies_add_up() -> None:
    model = MatchModel(default_settings())
    a = features(name="欧阳修", city="杭州", birth_date="1990-01-01")
    b = features(name="欧阳修", city="杭州", birth_date="1990-01-01")
    plain = model.score("person", a, b, prior_weight=model.prior_weight("person"))
    assert plain.probability > 0.99
    assert plain.match_weight == pytest.approx(
        plain.prior_weight + sum(o.weight for o in plain.outcomes)
    )
    # the same agreement on a value a thousand records share is worth much less
    common = model.score(
        "person",
        a,
        b,
        prior_weight=model.prior_weight("person"),
        term_frequency=lambda feature, value: (1000.0, 20_000.0),
    )
    assert common.match_weight < plain.match_weight - 5
    evidence = common.evidence()
    assert evidence["match_weight"] == pytest.approx(
        evidence["prior_weight"] + sum(c["weight"] for c in evidence["comparisons"]), abs=1e-5
    )
    assert evidence["probability"] == pytest.approx(probability(evidence["match_weight"]))


def test_the_fast_weight_is_the_scores_weight_to_the_last_bit() -> None:
    """Candidate search weighs pairs without building their explanation; the
    numbers must be exactly those of the full score, term frequencies included."""
    model = MatchModel(default_settings())
    rng = random.Random(5)
    values = {
        "name": ["张伟", "张玮", "欧阳修", "李娜", None],
        "city": ["北京", "杭州", None],
        "birth_date": ["1990-01-01", "1990-01-10", "1991-01-01", None],
        "phone": ["13800138000", "13800138001", "13912345678", None],
        "email": ["zw@qq.com", "zw@163.com", None],
        "id_number": [resident_id(seq="101"), resident_id(seq="102"), None],
    }
    prior = model.prior_weight("person")
    for _ in range(400):
        a, b = (
            features(**{k: v for k, v in ((k, rng.choice(vs)) for k, vs in values.items()) if v})
            for _ in range(2)
        )
        counts = (float(rng.randrange(50)), 20_000.0)
        for tf in (None, lambda feature, value, c=counts: c):
            full = model.score("person", a, b, prior_weight=prior, term_frequency=tf)
            assert model.weigh("person", a, b, prior, tf) == (full.match_weight, full.least_weight)


def test_blocking_keys_are_stable_and_shared_by_agreeing_records() -> None:
    settings = default_settings()
    one, _ = record_keys(
        settings, "person", features(name="张伟", city="北京", phone="13800138000")
    )
    two, _ = record_keys(settings, "person", features(name="张玮", city="北京市"))
    assert set(one) & set(two)  # same reading, same city
    # Stored match keys are compared across processes: a key must not depend on
    # the process (Python's string hash is salted per process).
    here = value_key("person", "phone", "+8613800138000")
    elsewhere = subprocess.run(
        [
            sys.executable,
            "-c",
            "from c360.platform.matching.blocking import value_key;"
            "print(value_key('person', 'phone', '+8613800138000'))",
        ],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert str(here) == elsewhere
    assert value_key("person", "phone", "x") != value_key("organization", "phone", "x")


def test_em_recovers_m_from_unlabelled_patterns() -> None:
    """Two comparisons, 20% matches: m (agree | match) = 0.9, u = 0.1."""
    rng = random.Random(1)
    patterns: Counter[tuple[int, ...]] = Counter()
    for _ in range(20_000):
        match = rng.random() < 0.2
        p = 0.9 if match else 0.1
        patterns[tuple(0 if rng.random() < p else 1 for _ in range(3))] += 1
    u = [[0.1, 0.9]] * 3
    lam, m = expectation_maximisation(patterns, [[0.6, 0.4]] * 3, u, set(), 0.5, 200)
    assert lam == pytest.approx(0.2, abs=0.02)
    assert all(levels[0] == pytest.approx(0.9, abs=0.03) for levels in m)


def test_training_on_unlabelled_records_finds_the_duplicates_prior() -> None:
    rng = random.Random(7)
    records = []
    for i in range(2000):
        base = {
            "name": f"人{i}",
            "name_pinyin": f"ren{i}",
            "city": rng.choice("ABCDEFGH"),
            "birth_date": f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-"
            f"1{rng.randrange(0, 9)}",
            "phone": f"+86139{i:08d}",
        }
        records.append(base)
        if i % 4 == 0:  # a quarter of the people appear twice
            again = dict(base)
            if rng.random() < 0.3:
                again.pop("phone")
            records.append(again)
    model = train_model(default_settings(), {"person": records}, seed=1)
    weights = {(r["comparison"], r["level"]): r["weight"] for r in model.describe()}
    assert weights[("birth_date", "exact")] > 5
    assert weights[("birth_date", "different")] < -3
    expected = 500 / (len(records) * (len(records) - 1) / 2)
    assert model.lam("person") == pytest.approx(expected, rel=0.5)
