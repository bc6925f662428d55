"""Evaluating comparison levels on two records' features (string similarity by
``rapidfuzz``). Each :class:`CompiledComparison` turns a pair of feature dicts
into the index of the first level that holds (``-1`` when the comparison is null:
the features it needs are missing on one side)."""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from c360.platform.matching.features import Features
from c360.platform.matching.settings import Comparison, ComparisonLevel

NULL = -1

# A level test: True (holds), False (evaluated, does not hold), None (not evaluable).
LevelTest = Callable[[Features, Features], bool | None]
Predicate = Callable[[str, str], bool]


def _date_parts(value: str) -> tuple[str, str, str] | None:
    digits = value.replace("-", "").replace("/", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    return digits[:4], digits[4:6], digits[6:]


def date_typo(a: str, b: str) -> bool:
    """Two of year/month/day agree, or day and month are swapped, or one digit differs."""
    pa, pb = _date_parts(a), _date_parts(b)
    if pa is None or pb is None:
        return Levenshtein.distance(a, b, score_cutoff=1) <= 1
    same = sum(x == y for x, y in zip(pa, pb, strict=True))
    if same >= 2:
        return True
    if pa[0] == pb[0] and pa[1] == pb[2] and pa[2] == pb[1]:
        return True
    return sum(x != y for x, y in zip("".join(pa), "".join(pb), strict=True)) <= 1


def _predicate(level: ComparisonLevel) -> Predicate:
    kind, threshold = level.kind, level.threshold
    if kind == "exact":
        return str.__eq__
    if kind == "jaro_winkler":
        cutoff = float(threshold or 0)
        return lambda a, b: a == b or JaroWinkler.similarity(a, b, score_cutoff=cutoff) >= cutoff
    if kind == "levenshtein":
        edits = int(threshold or 0)
        return lambda a, b: Levenshtein.distance(a, b, score_cutoff=edits) <= edits
    if kind == "damerau_levenshtein":
        edits = int(threshold or 0)
        return lambda a, b: DamerauLevenshtein.distance(a, b, score_cutoff=edits) <= edits
    if kind == "date_typo":
        return date_typo
    if kind == "same_prefix":
        length = int(threshold or 0)
        return lambda a, b: len(a) >= length and a[:length] == b[:length]
    if kind == "contains":
        return lambda a, b: min(len(a), len(b)) >= 2 and (a in b or b in a)
    if kind == "token_set":
        # the words of one, in any order, mostly found in the other (addresses
        # with parts moved or left out, company names with a suffix dropped)
        ratio = 100.0 * float(threshold or 0)
        return lambda a, b: fuzz.token_set_ratio(a, b, score_cutoff=ratio) >= ratio
    raise ValueError(f"unknown level kind {kind!r}")


def _level_test(level: ComparisonLevel, default_feature: str) -> LevelTest:
    feature = level.feature or default_feature
    holds = _predicate(level)
    other = level.other_feature
    if other is None:

        def same_feature(fa: Features, fb: Features) -> bool | None:
            a = fa.get(feature)
            if a is None:
                return None
            b = fb.get(feature)
            if b is None:
                return None
            return holds(a, b)

        return same_feature

    def cross(fa: Features, fb: Features) -> bool | None:
        result: bool | None = None
        for x, y in ((fa.get(feature), fb.get(other)), (fa.get(other), fb.get(feature))):
            if x is not None and y is not None:
                if holds(x, y):
                    return True
                result = False
        return result

    return cross


class CompiledComparison:
    """A comparison ready to evaluate many pairs quickly."""

    __slots__ = (
        "comparison",
        "features",
        "labels",
        "name",
        "plain",
        "tests",
        "tf_features",
    )

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.name = comparison.name
        levels = comparison.levels[:-1]
        self.tests = [_level_test(level, comparison.feature) for level in levels]
        self.labels = [level.label for level in comparison.levels]
        self.tf_features: list[str | None] = [
            (level.term_frequency_feature or level.feature or comparison.feature)
            if level.term_frequency
            else None
            for level in comparison.levels
        ]
        # the usual case, no level compares two different features: a faster path
        self.plain: list[tuple[str, Predicate | None]] | None = None
        if not any(level.other_feature for level in levels):
            self.plain = [
                (
                    level.feature or comparison.feature,
                    None if level.kind == "exact" else _predicate(level),
                )
                for level in levels
            ]
        used: set[str] = set()
        for level in comparison.levels:
            used.add(level.feature or comparison.feature)
            if level.other_feature:
                used.add(level.other_feature)
        self.features = frozenset(used)

    def level(self, fa: Features, fb: Features) -> int:
        """The index of the first level that holds; ``NULL`` if none could be evaluated."""
        plain = self.plain
        if plain is not None:
            evaluated = False
            current = None
            a = b = None
            for index, (feature, holds) in enumerate(plain):
                if feature != current:
                    current = feature
                    a = fa.get(feature)
                    b = fb.get(feature)
                if a is None or b is None:
                    continue
                evaluated = True
                if (a == b) if holds is None else holds(a, b):
                    return index
            return len(plain) if evaluated else NULL
        evaluated = False
        for index, test in enumerate(self.tests):
            outcome = test(fa, fb)
            if outcome:
                return index
            if outcome is not None:
                evaluated = True
        return len(self.tests) if evaluated else NULL


def compile_comparisons(comparisons: list[Comparison]) -> list[CompiledComparison]:
    return [CompiledComparison(c) for c in comparisons]


__all__ = ["NULL", "CompiledComparison", "compile_comparisons", "date_typo"]
