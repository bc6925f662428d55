"""The Fellegi–Sunter match model: settings plus learned parameters, and scoring.

For a pair of records every comparison lands on one level; the level adds
``log2(m / u)`` bits of evidence (``m``: how often true matches land there, ``u``:
how often random pairs do). An exact agreement on a level with term frequencies
is re-weighted by how common the agreed value is: agreeing on a phone a thousand
records share is worth little. The prior ``log2(λ / (1 − λ))`` plus all bits is
the match weight; the match probability is ``2^w / (1 + 2^w)``. The pieces are
kept, so every score can be explained comparison by comparison (see
:class:`PairScore`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from c360.platform.matching.comparisons import NULL, CompiledComparison, compile_comparisons
from c360.platform.matching.features import Features
from c360.platform.matching.settings import MatchSettings

TermFrequency = Callable[[str, str], tuple[float, float] | None]
"""``(feature, value) -> (records with the value, records)``, or None if unknown."""


def probability(match_weight: float) -> float:
    """The match probability of a match weight (bits)."""
    if match_weight > 60:
        return 1.0
    if match_weight < -60:
        return 0.0
    odds = 2.0**match_weight
    return odds / (1.0 + odds)


def weight_of(probability_: float) -> float:
    """The match weight (bits) of a probability."""
    p = min(max(probability_, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


@dataclass(slots=True)
class LevelParameters:
    m: list[float]
    u: list[float]


@dataclass(slots=True)
class ComparisonOutcome:
    """Where one comparison landed for a pair, and what it weighed."""

    comparison: str
    level: str
    level_index: int
    weight: float
    """bits, including ``tf_adjustment``"""
    tf_adjustment: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "comparison": self.comparison,
            "level": self.level,
            "level_index": self.level_index,
            "weight": round(self.weight, 6),
            "tf_adjustment": round(self.tf_adjustment, 6),
        }


@dataclass(slots=True)
class PairScore:
    """A scored pair: the prior and each comparison's weight add up to ``match_weight``."""

    match_weight: float
    prior_weight: float
    outcomes: list[ComparisonOutcome] = field(default_factory=list)
    least_weight: float = 0.0
    """The most negative comparison weight (0.0 when none disagrees): whether the
    records contradict each other anywhere, or merely share little."""

    @property
    def probability(self) -> float:
        return probability(self.match_weight)

    def evidence(self) -> dict[str, Any]:
        """JSON for ``record_link.evidence``; rounding keeps the sum exact to 1e-5."""
        outcomes = [o.as_json() for o in self.outcomes if o.level_index != NULL]
        prior = round(self.prior_weight, 6)
        total = prior + sum(o["weight"] for o in outcomes)
        return {
            "prior_weight": prior,
            "match_weight": round(total, 6),
            "probability": probability(round(total, 6)),
            "comparisons": outcomes,
        }


class MatchModel:
    """Settings plus learned m/u per level, the prior and term frequencies."""

    def __init__(
        self,
        settings: MatchSettings,
        parameters: dict[str, LevelParameters] | None = None,
        *,
        lam_by_kind: dict[str, float] | None = None,
        population_by_kind: dict[str, int] | None = None,
        term_frequencies: dict[str, dict[str, int]] | None = None,
        version: int | None = None,
        training: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.version = version
        self.lam_by_kind = dict(lam_by_kind or {})
        self.population_by_kind = dict(population_by_kind or {})
        self.term_frequencies = term_frequencies or {}
        """``"kind:feature"`` -> value -> records (values on two records or more)"""
        self.training = training or {}
        self.parameters: dict[str, LevelParameters] = {}
        for comparison in settings.comparisons:
            given = (parameters or {}).get(comparison.name)
            if given is not None and len(given.m) == len(comparison.levels):
                self.parameters[comparison.name] = given
            else:
                self.parameters[comparison.name] = LevelParameters(
                    m=[level.m for level in comparison.levels],
                    u=[level.u for level in comparison.levels],
                )
        self._compiled: dict[str, list[CompiledComparison]] = {}
        self._plans: dict[str, list[Any]] = {}
        self._weights: dict[str, list[float]] = {
            name: [math.log2(m / u) for m, u in zip(p.m, p.u, strict=True)]
            for name, p in self.parameters.items()
        }

    # ---------------------------------------------------------------- scoring
    def comparisons(self, kind: str) -> list[CompiledComparison]:
        if kind not in self._compiled:
            self._compiled[kind] = compile_comparisons(self.settings.comparisons_for(kind))
        return self._compiled[kind]

    def lam(self, kind: str) -> float:
        return self.lam_by_kind.get(kind, self.settings.probability_two_random_records_match)

    def population(self, kind: str) -> int:
        return self.population_by_kind.get(kind, self.settings.population)

    def prior_weight(self, kind: str, live_records: int = 0) -> float:
        """``log2(λ/(1−λ))``; λ shrinks in proportion once the data outgrows the
        population the model was trained on (one more record, one more chance)."""
        population = self.population(kind)
        lam = self.lam(kind) * population / max(live_records, population)
        return math.log2(lam / (1 - lam))

    def trained_frequency(self, kind: str, feature: str, value: str) -> int:
        """How many training records had this value (0 if fewer than two)."""
        return self.term_frequencies.get(f"{kind}:{feature}", {}).get(value, 0)

    def levels(self, kind: str, fa: Features, fb: Features) -> tuple[int, ...]:
        return tuple(c.level(fa, fb) for c in self.comparisons(kind))

    def _tf_adjustment(
        self, fa: Features, feature: str, u_level: float, term_frequency: TermFrequency
    ) -> float:
        """Bits added to an exact agreement on ``fa``'s value of ``feature``: more
        for a rare value, fewer (or negative) for a common one; 0.0 if unknown."""
        value = fa.get(feature)
        if value is None:
            return 0.0
        frequency = term_frequency(feature, value)
        if frequency is None:
            return 0.0
        count, records = frequency
        prior_records = self.settings.term_frequency_prior_records
        u_value = (count + prior_records * u_level) / (records + prior_records)
        return math.log2(u_level / max(u_value, self.settings.minimum_term_frequency))

    def weigh(
        self,
        kind: str,
        fa: Features,
        fb: Features,
        prior_weight: float,
        term_frequency: TermFrequency | None = None,
    ) -> tuple[float, float]:
        """``(match_weight, least_weight)`` of :meth:`score`, to the last bit, without
        the per-comparison record: the hot path of candidate search."""
        plan = self._plans.get(kind)
        if plan is None:
            plan = self._plans[kind] = [
                (c.level, self._weights[c.name], c.tf_features, self.parameters[c.name].u)
                for c in self.comparisons(kind)
            ]
        total = prior_weight
        least = 0.0
        for level, weights, tf_features, u in plan:
            index = level(fa, fb)
            if index == NULL:
                continue
            weight = weights[index]
            tf_feature = tf_features[index]
            if tf_feature is not None and term_frequency is not None:
                weight += self._tf_adjustment(fa, tf_feature, u[index], term_frequency)
            total += weight
            if weight < least:
                least = weight
        return total, least

    def score(
        self,
        kind: str,
        fa: Features,
        fb: Features,
        *,
        prior_weight: float,
        term_frequency: TermFrequency | None = None,
        explain: bool = True,
    ) -> PairScore:
        """Score one pair of records (features of ``fa`` are the new record's)."""
        total = prior_weight
        least = 0.0
        outcomes: list[ComparisonOutcome] = []
        for compiled in self.comparisons(kind):
            index = compiled.level(fa, fb)
            if index == NULL:
                continue
            weight = self._weights[compiled.name][index]
            adjustment = 0.0
            tf_feature = compiled.tf_features[index]
            if tf_feature is not None and term_frequency is not None:
                u_level = self.parameters[compiled.name].u[index]
                adjustment = self._tf_adjustment(fa, tf_feature, u_level, term_frequency)
                weight += adjustment
            total += weight
            if weight < least:
                least = weight
            if explain:
                outcomes.append(
                    ComparisonOutcome(
                        comparison=compiled.name,
                        level=compiled.labels[index],
                        level_index=index,
                        weight=weight,
                        tf_adjustment=adjustment,
                    )
                )
        return PairScore(
            match_weight=total, prior_weight=prior_weight, outcomes=outcomes, least_weight=least
        )

    # ---------------------------------------------------------------- storage
    def parameters_json(self) -> dict[str, Any]:
        return {
            "comparisons": {
                name: {"m": p.m, "u": p.u} for name, p in sorted(self.parameters.items())
            },
            "lambda": self.lam_by_kind,
            "population": self.population_by_kind,
            "term_frequencies": self.term_frequencies,
            "training": self.training,
        }

    @classmethod
    def from_json(
        cls, settings: dict[str, Any], parameters: dict[str, Any], version: int | None = None
    ) -> MatchModel:
        comparisons = {
            name: LevelParameters(m=list(p["m"]), u=list(p["u"]))
            for name, p in (parameters.get("comparisons") or {}).items()
        }
        return cls(
            MatchSettings.model_validate(settings),
            comparisons,
            lam_by_kind=parameters.get("lambda") or {},
            population_by_kind=parameters.get("population") or {},
            term_frequencies=parameters.get("term_frequencies") or {},
            version=version,
            training=parameters.get("training") or {},
        )

    def describe(self) -> list[dict[str, Any]]:
        """Per comparison level: m, u and the weight in bits (for people to read)."""
        rows = []
        for comparison in self.settings.comparisons:
            p = self.parameters[comparison.name]
            for index, level in enumerate(comparison.levels):
                rows.append(
                    {
                        "comparison": comparison.name,
                        "level": level.label,
                        "m": p.m[index],
                        "u": p.u[index],
                        "weight": self._weights[comparison.name][index],
                        "term_frequency": level.term_frequency,
                    }
                )
        return rows


__all__ = [
    "ComparisonOutcome",
    "LevelParameters",
    "MatchModel",
    "PairScore",
    "TermFrequency",
    "probability",
    "weight_of",
]
