"""A small library of named comparisons, and the default settings built from it.

As Splink's ``comparison_library`` (``ExactMatch``, ``JaroWinklerAtThresholds``,
``DateOfBirthComparison``...), each function here returns one
:class:`~c360.platform.matching.settings.Comparison` with its levels spelled
once: ``exact_then_jaro_winkler("address", [0.92], ...)``. The default model is
those comparisons put together (:func:`build_default_settings`) and ships as
``default_settings.json`` next to this module — the same format ``c360 resolve
--settings FILE`` takes, so a deployment starts from a copy of it. The file is
written by ``python -m c360.platform.matching.library`` and a test checks that
it is what the library builds.

Starting m and u are educated guesses for customer records (Chinese and
Latin-script alike); training replaces them with values learned from the data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from c360.platform.matching.settings import (
    BlockingRule,
    Comparison,
    ComparisonLevel,
    LevelKind,
    MatchSettings,
)

DEFAULT_SETTINGS_FILE = Path(__file__).with_name("default_settings.json")

PERSON = ("person",)
ORGANIZATION = ("organization",)
BOTH = ("person", "organization")

MU = tuple[float, float]
"""Starting (m, u) of one level."""


def level(label: str, kind: LevelKind, mu: MU, **options: object) -> ComparisonLevel:
    m, u = mu
    return ComparisonLevel(label=label, kind=kind, m=m, u=u, **options)


def different(mu: MU) -> ComparisonLevel:
    """The last level of every comparison: none of the others held."""
    return level("different", "else", mu)


def _comparison(
    name: str, feature: str, levels: Sequence[ComparisonLevel], kinds: Sequence[str]
) -> Comparison:
    return Comparison(name=name, feature=feature, kinds=list(kinds), levels=list(levels))


def exact_match(
    name: str,
    feature: str,
    exact: MU,
    otherwise: MU,
    *,
    term_frequency: bool = False,
    kinds: Sequence[str] = PERSON,
) -> Comparison:
    """Agree exactly, or not (Splink's ``ExactMatch``)."""
    return _comparison(
        name,
        feature,
        [level("exact", "exact", exact, term_frequency=term_frequency), different(otherwise)],
        kinds,
    )


def exact_then_edits(
    name: str,
    feature: str,
    exact: MU,
    edits: Sequence[tuple[int, MU]],
    otherwise: MU,
    *,
    transpositions: bool = True,
    term_frequency: bool = False,
    kinds: Sequence[str] = PERSON,
) -> Comparison:
    """Exact, then at most n edits (a digit off, two swapped: Splink's
    ``DamerauLevenshteinAtThresholds``)."""
    kind: LevelKind = "damerau_levenshtein" if transpositions else "levenshtein"
    what = "digit" if name in {"phone", "member_no", "id_number"} else "edit"
    return _comparison(
        name,
        feature,
        [
            level("exact", "exact", exact, term_frequency=term_frequency),
            *(
                level(
                    f"one {what} off" if n == 1 else f"at most {n} {what}s off",
                    kind,
                    mu,
                    threshold=n,
                )
                for n, mu in edits
            ),
            different(otherwise),
        ],
        kinds,
    )


def exact_then_jaro_winkler(
    name: str,
    feature: str,
    exact: MU,
    thresholds: Sequence[tuple[float, MU]],
    otherwise: MU,
    *,
    contains: MU | None = None,
    words: MU | None = None,
    term_frequency: bool = True,
    kinds: Sequence[str] = PERSON,
) -> Comparison:
    """Exact, then (optionally) one contains the other, then Jaro-Winkler at each
    threshold, then (optionally) the same words mostly (``token_set`` ≥ 0.9):
    addresses, company names (Splink's ``JaroWinklerAtThresholds``)."""
    levels = [level("exact", "exact", exact, term_frequency=term_frequency)]
    if contains is not None:
        levels.append(level("one name contains the other", "contains", contains))
    levels += [
        level(f"Jaro-Winkler >= {t}", "jaro_winkler", mu, threshold=t) for t, mu in thresholds
    ]
    if words is not None:
        levels.append(level("mostly the same words", "token_set", words, threshold=0.9))
    levels.append(different(otherwise))
    return _comparison(name, feature, levels, kinds)


def person_name() -> Comparison:
    """Names in characters or Latin script: exact; the same reading (张伟 / 张玮,
    ``Zhang Wei``); the reading one edit off (``HANS`` / ``HRANS``) or close
    (Jaro-Winkler); the same words in another order (given and family name
    swapped); the same initial and family name (``J. Smith``). Exact agreement
    is weighed by how common the reading is."""
    return _comparison(
        "name",
        "name",
        [
            level(
                "exact",
                "exact",
                (0.86, 2e-4),
                feature="name",
                term_frequency=True,
                term_frequency_feature="name_pinyin",
            ),
            level("same pinyin", "exact", (0.08, 3e-4), feature="name_pinyin", term_frequency=True),
            level(
                "pinyin Jaro-Winkler >= 0.92",
                "jaro_winkler",
                (0.03, 3e-3),
                feature="name_pinyin",
                threshold=0.92,
            ),
            level(
                "same words in another order",
                "exact",
                (0.005, 1e-5),
                feature="name_words",
                term_frequency=True,
            ),
            level("same initial and family name", "exact", (0.005, 5e-4), feature="name_short"),
            level(
                "pinyin Jaro-Winkler >= 0.80",
                "jaro_winkler",
                (0.015, 0.05),
                feature="name_pinyin",
                threshold=0.80,
            ),
            different((0.004, 0.9467)),
        ],
        PERSON,
    )


def date_of_birth(name: str = "birth_date", feature: str = "birth_date") -> Comparison:
    """Exact; one part or one digit off, or day and month swapped; the same year
    (Splink's ``DateOfBirthComparison``)."""
    return _comparison(
        name,
        feature,
        [
            level("exact", "exact", (0.95, 5e-5)),
            level("one part differs or day/month swapped", "date_typo", (0.03, 2e-3)),
            level("same year", "same_prefix", (0.01, 0.02), threshold=4),
            different((0.005, 0.97795)),
        ],
        PERSON,
    )


def birthplace() -> Comparison:
    """One record's city is where the other's resident id number was issued."""
    return _comparison(
        "birthplace",
        "birth_city",
        [
            level(
                "one's city is where the other's id number was issued",
                "exact",
                (0.7, 0.08),
                feature="city",
                other_feature="birth_city",
            ),
            different((0.3, 0.92)),
        ],
        PERSON,
    )


def build_default_settings() -> MatchSettings:
    """The model c360 starts with, for any canonical attribute set."""
    return MatchSettings(
        name="c360-default",
        comparisons=[
            person_name(),
            date_of_birth(),
            exact_then_edits(
                "phone",
                "phone",
                (0.89, 1e-6),
                [(1, (0.02, 1e-5))],
                (0.04, 0.999989),
                transpositions=False,
                term_frequency=True,
                kinds=BOTH,
            ),
            exact_match(
                "email", "email", (0.85, 1e-6), (0.15, 0.999999), term_frequency=True, kinds=BOTH
            ),
            exact_match("id_number", "id_number", (0.97, 1e-7), (0.03, 0.9999999)),
            exact_then_edits(
                "member_no",
                "member_no",
                (0.9, 1e-6),
                [(1, (0.05, 1e-5))],
                (0.05, 0.999989),
                term_frequency=True,
            ),
            exact_match(
                "city", "city", (0.995, 0.08), (0.005, 0.92), term_frequency=True, kinds=BOTH
            ),
            birthplace(),
            exact_then_jaro_winkler(
                "company",
                "company",
                (0.8, 1e-3),
                [(0.9, (0.03, 5e-3))],
                (0.05, 0.993),
                contains=(0.12, 1e-3),
            ),
            exact_match("gender", "gender", (0.98, 0.5), (0.02, 0.5)),
            exact_then_jaro_winkler(
                "address",
                "address",
                (0.6, 1e-5),
                [(0.92, (0.25, 1e-3))],
                (0.1, 0.99899),
                words=(0.05, 1e-4),
                kinds=BOTH,
            ),
            exact_then_jaro_winkler(
                "organization_name",
                "org_name",
                (0.85, 1e-4),
                [(0.92, (0.04, 2e-3))],
                (0.03, 0.9969),
                contains=(0.08, 1e-3),
                kinds=ORGANIZATION,
            ),
            exact_match(
                "legal_representative",
                "legal_representative",
                (0.9, 1e-3),
                (0.1, 0.999),
                kinds=ORGANIZATION,
            ),
        ],
        blocking_rules=[
            BlockingRule(name="name", features=["name_pinyin"]),
            BlockingRule(name="name+city", features=["name_pinyin", "city"]),
            BlockingRule(name="name+birth_date", features=["name_pinyin", "birth_date"]),
            BlockingRule(name="birth_date", features=["birth_date"]),
            BlockingRule(name="name words", features=["name_words"]),
            BlockingRule(name="phone", features=["phone"], kinds=list(BOTH)),
            BlockingRule(name="email", features=["email"], kinds=list(BOTH)),
            BlockingRule(name="member_no", features=["member_no"]),
            BlockingRule(name="address", features=["address"], kinds=list(BOTH)),
            BlockingRule(name="organization name", features=["org_name"], kinds=list(ORGANIZATION)),
        ],
        training_rules=[
            BlockingRule(name="name", features=["name_pinyin"]),
            BlockingRule(name="phone", features=["phone"]),
            BlockingRule(name="birth_date", features=["birth_date"]),
        ],
        probability_two_random_records_match=6e-5,
        population=20_000,
        match_threshold=0.5,
        merge_threshold=0.8,
    )


def write_default_settings(path: Path = DEFAULT_SETTINGS_FILE) -> None:
    """Write :func:`build_default_settings` as the shipped JSON file."""
    data = build_default_settings().model_dump(mode="json")
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_default_settings(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SETTINGS_FILE)


__all__ = [
    "DEFAULT_SETTINGS_FILE",
    "build_default_settings",
    "date_of_birth",
    "different",
    "exact_match",
    "exact_then_edits",
    "exact_then_jaro_winkler",
    "level",
    "person_name",
    "write_default_settings",
]
