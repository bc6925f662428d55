"""The match model as data: comparisons with their levels, and blocking rules.

Like Splink's settings dictionary, a :class:`MatchSettings` says *what* is compared
and *how finely*; the learned numbers (m and u per level, the prior, term
frequencies) live in a :class:`~c360.platform.matching.model.MatchModel` built from
it. Settings are plain JSON (``MatchSettings.model_validate_json``), so a deployment
can swap them without code: ``c360 resolve --train --settings my-model.json``.

A comparison looks at one or two *features* of both records (see
:mod:`c360.platform.matching.features`: ``name``, ``name_pinyin``, ``phone``,
``city``, ``birth_city``..., or any attribute a source sends). Its levels are
tried in order; the first that holds is the comparison's outcome. A level whose
features are missing on either side cannot hold; when no level could even be
evaluated the comparison is *null* and weighs nothing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

LevelKind = Literal[
    "exact",
    "jaro_winkler",
    "levenshtein",
    "damerau_levenshtein",
    "date_typo",
    "same_prefix",
    "contains",
    "else",
]


class ComparisonLevel(BaseModel):
    """One outcome of a comparison, with its starting m and u (before training)."""

    label: str
    kind: LevelKind
    feature: str | None = None
    """The feature compared (default: the comparison's)."""
    other_feature: str | None = None
    """Compare ``feature`` of one record with ``other_feature`` of the other, both
    ways round (e.g. ``city`` against ``birth_city``; ``given_name`` against
    ``surname`` for swapped names)."""
    threshold: float | None = None
    """jaro_winkler: least similarity; levenshtein: most edits; same_prefix: length."""
    term_frequency: bool = False
    """Adjust an exact agreement by how common the agreed value is (Splink's TF)."""
    term_frequency_feature: str | None = None
    """Count frequencies of this feature instead (e.g. a name's reading, so that
    张伟 and 张玮 share one count and one key)."""
    m: float = Field(default=0.5, gt=0, lt=1)
    u: float = Field(default=0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> ComparisonLevel:
        needs = {"jaro_winkler", "levenshtein", "damerau_levenshtein", "same_prefix"}
        if self.kind in needs and self.threshold is None:
            raise ValueError(f"level {self.label!r}: kind {self.kind} needs a threshold")
        if self.term_frequency and self.kind != "exact":
            raise ValueError(f"level {self.label!r}: term frequencies apply to exact levels only")
        return self


class Comparison(BaseModel):
    """How two records compare on one aspect (name, birth date, phone...)."""

    name: str
    feature: str
    levels: list[ComparisonLevel]
    kinds: list[str] = Field(default_factory=lambda: ["person"])

    @model_validator(mode="after")
    def _check(self) -> Comparison:
        if not self.levels or self.levels[-1].kind != "else":
            raise ValueError(f"comparison {self.name!r}: the last level must be 'else'")
        if any(level.kind == "else" for level in self.levels[:-1]):
            raise ValueError(f"comparison {self.name!r}: only the last level may be 'else'")
        return self


class BlockingRule(BaseModel):
    """Records agreeing on every feature named are candidates for one another."""

    name: str
    features: list[str]
    kinds: list[str] = Field(default_factory=lambda: ["person"])


class MatchSettings(BaseModel):
    """Everything about the match model that is chosen, not learned."""

    name: str = "c360-default"
    comparisons: list[Comparison]
    blocking_rules: list[BlockingRule]
    """Used to find candidates for a new record (keys kept in the database)."""
    training_rules: list[BlockingRule] = Field(default_factory=list)
    """Expectation-maximisation sessions: each estimates m for the comparisons whose
    features it does not block on (default: the blocking rules)."""
    probability_two_random_records_match: float = Field(default=1e-4, gt=0, lt=1)
    """The prior before training, for a database of ``population`` records."""
    population: int = Field(default=10_000, ge=1)
    match_threshold: float = Field(default=0.8, gt=0, lt=1)
    """Least match probability for an automatic link."""
    merge_threshold: float = Field(default=0.8, gt=0, lt=1)
    """Least match probability for a record to *merge* customers: one it resembles
    this much joins the customer it links to (when they do not contradict each
    other). A merge joins every record of two customers, so it asks for more than
    a link (the higher of this and ``match_threshold`` applies)."""
    max_candidates_per_key: int = Field(default=30, ge=1)
    """A blocking key shared by more records than this finds no candidates (it is too
    common to say anything: a family phone, 王伟 on its own)."""
    max_scored_candidates: int = Field(default=25, ge=1)
    """At most this many candidate records are scored per record: those sharing the
    most blocking keys with it first (more shared keys, likelier match)."""
    shared_identifier_customers: int = Field(default=5, ge=2)
    """An identifier (phone, e-mail, address, device) on more customers than this is
    *shared*: flagged, kept out of graph edges, and down-weighted by its frequency."""
    shared_features: list[str] = Field(
        default_factory=lambda: ["phone", "email", "address", "device_id"]
    )
    distinct_below: float = Field(default=0.05, gt=0, lt=1)
    """Two records that disagree somewhere (some comparison weighs against them)
    and score below this are different people: they contradict each other.
    Records that merely share little (all comparisons agree or are missing) do
    not. A record never joins a customer one of whose records it contradicts
    (however well it matches another); two customers with such a pair never
    merge, and a record resembling both links to neither, unless one is clearly
    closer."""
    ambiguity_margin: float = Field(default=4.0, ge=0)
    """How many bits closer one of two distinct customers must be to win a record."""
    max_cluster_size: int = Field(default=50, ge=2)
    """A probabilistic merge that would make a customer bigger than this is not made;
    the customer is flagged for review instead."""
    minimum_term_frequency: float = Field(default=1e-7, gt=0)
    term_frequency_prior_records: float = Field(default=100.0, ge=0)
    """Shrinks a value's observed frequency towards the level's average u, as if
    this many records had been seen already: a value seen once in a database of
    ten records is not yet known to be rare."""
    em_max_iterations: int = Field(default=40, ge=1)
    u_sample_pairs: int = Field(default=300_000, ge=1000)

    _blocking_cache: dict[str, list[BlockingRule]] = PrivateAttr(default_factory=dict)
    _tf_cache: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    def comparisons_for(self, kind: str) -> list[Comparison]:
        return [c for c in self.comparisons if kind in c.kinds]

    def blocking_for(self, kind: str) -> list[BlockingRule]:
        cache = self._blocking_cache
        if kind not in cache:
            cache[kind] = [r for r in self.blocking_rules if kind in r.kinds]
        return cache[kind]

    def tf_features(self, kind: str) -> list[str]:
        """Features whose value frequencies are kept (exact levels with TF)."""
        cache = self._tf_cache
        if kind not in cache:
            found: list[str] = []
            for comparison in self.comparisons_for(kind):
                for level in comparison.levels:
                    feature = level.term_frequency_feature or level.feature or comparison.feature
                    if level.term_frequency and feature not in found:
                        found.append(feature)
            cache[kind] = found
        return cache[kind]


def _level(label: str, kind: LevelKind, m: float, u: float, **kw: object) -> ComparisonLevel:
    return ComparisonLevel(label=label, kind=kind, m=m, u=u, **kw)


def default_settings() -> MatchSettings:
    """The model c360 starts with: Chinese customer records from web, stores, social
    accounts and trade shows. Starting m/u values are educated guesses; ``c360
    resolve --train`` replaces them with values learned from the data."""
    person = ["person"]
    org = ["organization"]
    both = ["person", "organization"]
    return MatchSettings(
        name="c360-default",
        comparisons=[
            Comparison(
                name="name",
                feature="name",
                kinds=person,
                levels=[
                    _level(
                        "exact",
                        "exact",
                        0.86,
                        2e-4,
                        feature="name",
                        term_frequency=True,
                        term_frequency_feature="name_pinyin",
                    ),
                    _level(
                        "same pinyin",
                        "exact",
                        0.08,
                        3e-4,
                        feature="name_pinyin",
                        term_frequency=True,
                    ),
                    _level(
                        "pinyin Jaro-Winkler >= 0.92",
                        "jaro_winkler",
                        0.03,
                        3e-3,
                        feature="name_pinyin",
                        threshold=0.92,
                    ),
                    _level(
                        "pinyin Jaro-Winkler >= 0.80",
                        "jaro_winkler",
                        0.015,
                        0.05,
                        feature="name_pinyin",
                        threshold=0.80,
                    ),
                    _level("different", "else", 0.004, 0.9467),
                ],
            ),
            Comparison(
                name="birth_date",
                feature="birth_date",
                kinds=person,
                levels=[
                    _level("exact", "exact", 0.95, 5e-5),
                    _level("one part differs or day/month swapped", "date_typo", 0.03, 2e-3),
                    _level("same year", "same_prefix", 0.01, 0.02, threshold=4),
                    _level("different", "else", 0.005, 0.97795),
                ],
            ),
            Comparison(
                name="phone",
                feature="phone",
                kinds=both,
                levels=[
                    _level("exact", "exact", 0.89, 1e-6, term_frequency=True),
                    _level("one digit off", "levenshtein", 0.02, 1e-5, threshold=1),
                    _level("different", "else", 0.04, 0.999989),
                ],
            ),
            Comparison(
                name="email",
                feature="email",
                kinds=both,
                levels=[
                    _level("exact", "exact", 0.85, 1e-6, term_frequency=True),
                    _level("different", "else", 0.15, 0.999999),
                ],
            ),
            Comparison(
                name="id_number",
                feature="id_number",
                kinds=person,
                levels=[
                    _level("exact", "exact", 0.97, 1e-7),
                    _level("different", "else", 0.03, 0.9999999),
                ],
            ),
            Comparison(
                name="city",
                feature="city",
                kinds=both,
                levels=[
                    _level("exact", "exact", 0.995, 0.08, term_frequency=True),
                    _level("different", "else", 0.005, 0.92),
                ],
            ),
            Comparison(
                name="birthplace",
                feature="birth_city",
                kinds=person,
                levels=[
                    _level(
                        "one's city is where the other's id number was issued",
                        "exact",
                        0.7,
                        0.08,
                        feature="city",
                        other_feature="birth_city",
                    ),
                    _level("different", "else", 0.3, 0.92),
                ],
            ),
            Comparison(
                name="company",
                feature="company",
                kinds=person,
                levels=[
                    _level("exact", "exact", 0.8, 1e-3, term_frequency=True),
                    _level("one name contains the other", "contains", 0.12, 1e-3),
                    _level("Jaro-Winkler >= 0.9", "jaro_winkler", 0.03, 5e-3, threshold=0.9),
                    _level("different", "else", 0.05, 0.993),
                ],
            ),
            Comparison(
                name="gender",
                feature="gender",
                kinds=person,
                levels=[
                    _level("exact", "exact", 0.98, 0.5),
                    _level("different", "else", 0.02, 0.5),
                ],
            ),
            Comparison(
                name="address",
                feature="address",
                kinds=both,
                levels=[
                    _level("exact", "exact", 0.6, 1e-5, term_frequency=True),
                    _level("Jaro-Winkler >= 0.92", "jaro_winkler", 0.25, 1e-3, threshold=0.92),
                    _level("different", "else", 0.15, 0.99899),
                ],
            ),
            Comparison(
                name="organization_name",
                feature="org_name",
                kinds=org,
                levels=[
                    _level("exact", "exact", 0.85, 1e-4, term_frequency=True),
                    _level("one name contains the other", "contains", 0.08, 1e-3),
                    _level("Jaro-Winkler >= 0.92", "jaro_winkler", 0.04, 2e-3, threshold=0.92),
                    _level("different", "else", 0.03, 0.9969),
                ],
            ),
            Comparison(
                name="legal_representative",
                feature="legal_representative",
                kinds=org,
                levels=[
                    _level("exact", "exact", 0.9, 1e-3),
                    _level("different", "else", 0.1, 0.999),
                ],
            ),
        ],
        blocking_rules=[
            BlockingRule(name="name", features=["name_pinyin"]),
            BlockingRule(name="name+city", features=["name_pinyin", "city"]),
            BlockingRule(name="name+birth_date", features=["name_pinyin", "birth_date"]),
            BlockingRule(name="phone", features=["phone"], kinds=both),
            BlockingRule(name="email", features=["email"], kinds=both),
            BlockingRule(name="address", features=["address"], kinds=both),
            BlockingRule(name="organization name", features=["org_name"], kinds=org),
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


__all__ = [
    "BlockingRule",
    "Comparison",
    "ComparisonLevel",
    "MatchSettings",
    "default_settings",
]
