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

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from c360.platform.identity_rules import DeterministicRule, default_rules

LevelKind = Literal[
    "exact",
    "jaro_winkler",
    "levenshtein",
    "damerau_levenshtein",
    "date_typo",
    "same_prefix",
    "contains",
    "token_set",
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
    """jaro_winkler, token_set: least similarity (0–1); levenshtein,
    damerau_levenshtein: most edits; same_prefix: length."""
    term_frequency: bool = False
    """Adjust an exact agreement by how common the agreed value is (Splink's TF)."""
    term_frequency_feature: str | None = None
    """Count frequencies of this feature instead (e.g. a name's reading, so that
    张伟 and 张玮 share one count and one key)."""
    m: float = Field(default=0.5, gt=0, lt=1)
    u: float = Field(default=0.5, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> ComparisonLevel:
        needs = {"jaro_winkler", "levenshtein", "damerau_levenshtein", "same_prefix", "token_set"}
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
    deterministic_rules: list[DeterministicRule] = Field(default_factory=default_rules)
    """Strong identifiers that link with no score, strongest first (see
    :mod:`c360.platform.identity_rules`); settings without them get the defaults."""
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


DEFAULT_SETTINGS_FILE = Path(__file__).with_name("default_settings.json")


@functools.cache
def _default_settings_json() -> str:
    return DEFAULT_SETTINGS_FILE.read_text(encoding="utf-8")


def default_settings() -> MatchSettings:
    """The model c360 starts with: ``default_settings.json`` next to this module,
    built from the named comparisons of :mod:`c360.platform.matching.library`
    (the same format as ``c360 resolve --settings``). Starting m/u values are
    educated guesses; ``c360 resolve --train`` learns them from the data."""
    return MatchSettings.model_validate_json(_default_settings_json())


__all__ = [
    "BlockingRule",
    "Comparison",
    "ComparisonLevel",
    "MatchSettings",
    "default_settings",
]
