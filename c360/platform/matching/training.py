"""Learning the match model without labels, as Splink does.

* **u** (how often *non*-matching records agree at a level) from random pairs of
  records: nearly every random pair is a non-match. The first, exact level of a
  comparison is computed exactly from value frequencies (the sum over values of
  ``c·(c−1)``, over ``n·(n−1)``) instead of being sampled, since it is tiny.
* **m** (how often matching records agree at a level) by expectation-maximisation
  over the pairs each training rule blocks together, with u held fixed. A session
  blocked on a feature cannot learn the comparisons that use it (every pair agrees
  there), so each rule estimates the others, and estimates are averaged.
* **λ** (the chance two random records match) from the sessions' match shares.
* **Term frequencies** of the values of exact levels that adjust for them.
* **Sanity bounds** (:func:`sane_m`): no probability at 0 or 1, and a closer
  agreement never weighs less than a looser one (so the first level counts for
  a match and ``else`` against).

Whether the trained model then replaces the one in force is for
:mod:`c360.platform.matching.guard` to say.

Pure Python: comparison vectors are tallied into patterns (most pairs share one),
so EM runs over a few thousand distinct patterns, not over pairs.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from c360.platform.matching.comparisons import NULL
from c360.platform.matching.features import Features
from c360.platform.matching.model import LevelParameters, MatchModel
from c360.platform.matching.settings import BlockingRule, MatchSettings

MAX_GROUP = 120
"""Larger blocks are sampled down to this many records in EM sessions."""
MAX_SESSION_PAIRS = 400_000
TF_KEEP = 50_000
FLOOR = 1e-6
"""No probability is estimated below this (nor above ``1 - FLOOR``)."""


def _normalise(values: list[float]) -> list[float]:
    floored = [max(v, FLOOR) for v in values]
    total = sum(floored)
    return [v / total for v in floored]


def sane_m(m: Sequence[float], u: Sequence[float]) -> list[float]:
    """m within the bounds training keeps. Levels run from the closest agreement
    to ``else``, so a level's weight ``log2(m/u)`` is never below the weight of a
    looser level after it (a one-digit typo never counts less than a different
    date); with m and u both summing to one, that keeps the first level's m above
    its u and the ``else`` level's below. Every value lies in ``[FLOOR, 1 - FLOOR]``.

    EM over blocked pairs can otherwise learn that a closer agreement is worse
    evidence than a looser one (company names Jaro-Winkler-close weighed below
    different ones, seen on the demo data), or that agreeing is evidence against
    a match. Between the first and the last level a weight may still be negative:
    on clean data a near miss *is* evidence of two people (a birth date one digit
    off among namesakes), and forcing it above chance there merges homonyms."""
    values = [min(max(v, FLOOR), 1 - FLOOR) for v in m]
    for i in range(len(values) - 2, -1, -1):  # from the loosest level up
        floor_ratio = values[i + 1] / u[i + 1]
        if values[i] / u[i] < floor_ratio:
            values[i] = u[i] * floor_ratio
    total = sum(values)  # a common factor keeps the order of the ratios
    return [min(max(v / total, FLOOR), 1 - FLOOR) for v in values]


def estimate_u(
    model: MatchModel, kind: str, records: Sequence[Features], pairs: int, rng: random.Random
) -> dict[str, list[float]]:
    """u per comparison level from random pairs (exact first levels computed exactly)."""
    compiled = model.comparisons(kind)
    n = len(records)
    tallies = [Counter[int]() for _ in compiled]
    if n >= 2:
        for _ in range(pairs):
            i = rng.randrange(n)
            j = rng.randrange(n - 1)
            if j >= i:
                j += 1
            a, b = records[i], records[j]
            for tally, comparison in zip(tallies, compiled, strict=True):
                tally[comparison.level(a, b)] += 1
    result: dict[str, list[float]] = {}
    for tally, comparison in zip(tallies, compiled, strict=True):
        levels = comparison.comparison.levels
        counted = sum(v for k, v in tally.items() if k != NULL)
        prior = model.parameters[comparison.name].u
        if counted < 50:
            result[comparison.name] = list(prior)
            continue
        sampled = [tally.get(i, 0) / counted for i in range(len(levels))]
        first = levels[0]
        if first.kind == "exact" and first.other_feature is None:
            exact = _exact_agreement(records, first.feature or comparison.comparison.feature)
            if exact is not None:
                rest = sum(sampled[1:]) or 1.0
                sampled = [exact] + [s / rest * (1 - exact) for s in sampled[1:]]
        floor = 0.5 / counted
        result[comparison.name] = _normalise(
            [s if s > 0 else min(floor, prior[i]) for i, s in enumerate(sampled)]
        )
    return result


def _exact_agreement(records: Sequence[Features], feature: str) -> float | None:
    counts = Counter(r[feature] for r in records if feature in r)
    n = sum(counts.values())
    if n < 2:
        return None
    same = sum(c * (c - 1) for c in counts.values())
    return max(same / (n * (n - 1)), 0.5 / (n * (n - 1)))


def blocked_pairs(
    records: Sequence[Features], rule: BlockingRule, rng: random.Random
) -> list[tuple[int, int]]:
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, features in enumerate(records):
        values = tuple(features.get(f) or "" for f in rule.features)
        if all(values):
            groups[values].append(index)
    pairs: list[tuple[int, int]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        if len(members) > MAX_GROUP:
            members = rng.sample(members, MAX_GROUP)
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.append((members[x], members[y]))
    if len(pairs) > MAX_SESSION_PAIRS:
        pairs = rng.sample(pairs, MAX_SESSION_PAIRS)
    return pairs


def expectation_maximisation(
    patterns: Counter[tuple[int, ...]],
    m: list[list[float]],
    u: list[list[float]],
    fixed: set[int],
    lam: float,
    iterations: int,
) -> tuple[float, list[list[float]]]:
    """EM over tallied comparison patterns with u fixed; returns (λ, m).

    Comparisons in ``fixed`` (those the session blocks on) are left out of the
    likelihood altogether, as Splink does: every blocked pair agrees on them, so
    they say nothing about which pairs match."""
    m = [list(levels) for levels in m]
    active = [c for c in range(len(m)) if c not in fixed]
    items = [(tuple(pattern[c] for c in active), count) for pattern, count in patterns.items()]
    merged: Counter[tuple[int, ...]] = Counter()
    for pattern, count in items:
        merged[pattern] += count
    items = list(merged.items())
    m_active = [m[c] for c in active]
    u_active = [u[c] for c in active]
    lam, m_new = _em(items, m_active, u_active, lam, iterations)
    for position, c in enumerate(active):
        m[c] = sane_m(m_new[position], u[c])
    return lam, m


def _em(
    items: list[tuple[tuple[int, ...], int]],
    m: list[list[float]],
    u: list[list[float]],
    lam: float,
    iterations: int,
) -> tuple[float, list[list[float]]]:
    fixed: set[int] = set()
    for _ in range(iterations):
        weighted: list[tuple[tuple[int, ...], float]] = []
        total_match = 0.0
        total = 0.0
        for pattern, count in items:
            pm = lam
            pu = 1.0 - lam
            for c, level in enumerate(pattern):
                if level != NULL:
                    pm *= m[c][level]
                    pu *= u[c][level]
            p = pm / (pm + pu) if pm + pu > 0 else 0.0
            weighted.append((pattern, count * p))
            total_match += count * p
            total += count
        new_lam = min(max(total_match / total, 1e-9), 0.999) if total else lam
        new_m = [list(levels) for levels in m]
        for c in range(len(m)):
            if c in fixed:
                continue
            sums = [0.0] * len(m[c])
            for pattern, w in weighted:
                level = pattern[c]
                if level != NULL:
                    sums[level] += w
            mass = sum(sums)
            if mass > 0:
                new_m[c] = _normalise([s / mass for s in sums])
        change = abs(new_lam - lam) + max(
            (abs(a - b) for x, y in zip(new_m, m, strict=True) for a, b in zip(x, y, strict=True)),
            default=0.0,
        )
        m, lam = new_m, new_lam
        if change < 1e-5:
            break
    return lam, m


def train_model(
    settings: MatchSettings,
    records_by_kind: Mapping[str, Sequence[Features]],
    *,
    seed: int = 0,
    start: MatchModel | None = None,
) -> MatchModel:
    """Learn m, u, λ and term frequencies from unlabelled records (features per kind)."""
    rng = random.Random(seed)
    model = start if start is not None else MatchModel(settings)
    parameters = {
        name: LevelParameters(list(p.m), list(p.u)) for name, p in model.parameters.items()
    }
    lam = dict(model.lam_by_kind)
    population = dict(model.population_by_kind)
    report: dict[str, Any] = {"kinds": {}}
    term_frequencies: dict[str, dict[str, int]] = {}
    # organizations first: comparisons both kinds share keep the people's estimates
    for kind in sorted(records_by_kind, key=lambda k: k != "organization"):
        records = records_by_kind[kind]
        compiled = model.comparisons(kind)
        if len(records) < 10 or not compiled:
            continue
        kind_report: dict[str, Any] = {"records": len(records), "sessions": []}
        pairs_wanted = min(settings.u_sample_pairs, 30 * len(records))
        u_values = estimate_u(model, kind, records, pairs_wanted, rng)
        u = [u_values[c.name] for c in compiled]
        estimates: dict[int, list[list[float]]] = defaultdict(list)
        matches_found = 0.0
        rules = settings.training_rules or settings.blocking_rules
        for rule in [r for r in rules if kind in r.kinds]:
            pairs = blocked_pairs(records, rule, rng)
            if len(pairs) < 20:
                continue
            patterns: Counter[tuple[int, ...]] = Counter()
            for i, j in pairs:
                a, b = records[i], records[j]
                patterns[tuple(c.level(a, b) for c in compiled)] += 1
            fixed = {index for index, c in enumerate(compiled) if c.features & set(rule.features)}
            m_start = [parameters[c.name].m for c in compiled]
            session_lam, m = expectation_maximisation(
                patterns, m_start, u, fixed, 0.5, settings.em_max_iterations
            )
            matches_found = max(matches_found, session_lam * len(pairs))
            for index in range(len(compiled)):
                if index not in fixed:
                    estimates[index].append(m[index])
            kind_report["sessions"].append(
                {
                    "rule": rule.name,
                    "pairs": len(pairs),
                    "patterns": len(patterns),
                    "match_share": session_lam,
                }
            )
        for index, comparison in enumerate(compiled):
            found = estimates.get(index)
            m_values = parameters[comparison.name].m
            if found:
                m_values = _normalise(
                    [sum(e[level] for e in found) / len(found) for level in range(len(found[0]))]
                )
            parameters[comparison.name] = LevelParameters(m=sane_m(m_values, u[index]), u=u[index])
        n = len(records)
        total_pairs = n * (n - 1) / 2
        if matches_found > 0:
            lam[kind] = min(max(matches_found / total_pairs, 1.0 / total_pairs), 0.5)
        population[kind] = n
        kind_report["lambda"] = lam.get(kind)
        report["kinds"][kind] = kind_report
        for feature in settings.tf_features(kind):
            counts = Counter(r[feature] for r in records if feature in r)
            common = [(v, c) for v, c in counts.most_common(TF_KEEP) if c >= 2]
            term_frequencies[f"{kind}:{feature}"] = dict(common)
    return MatchModel(
        settings,
        parameters,
        lam_by_kind=lam,
        population_by_kind=population,
        term_frequencies=term_frequencies,
        training=report,
    )


__all__ = ["blocked_pairs", "estimate_u", "expectation_maximisation", "sane_m", "train_model"]
