"""Value rules as data: tiers, lifecycle stages, tags and interests, read from a
versioned JSON document (``rules.json`` shipped in this package, or a file named
by ``C360_VALUE_RULES``), shown by ``c360 value rules``.

A condition is ``{"all": [...]}``, ``{"any": [...]}`` or a comparison
``{"field": F, "op": OP, "value": V}`` / ``{"field": F, "op": OP, "ref": G,
"times": k}`` (compare with another field, or a population cut point such as
``clv_p80``, times ``k``). Ops: ``eq ne lt le gt ge in``. Everything is evaluated
over numpy arrays, one element per customer: one code path scores one customer
after an order and a million in the benchmark. A comparison with a missing value
(NaN: no model, no repeat purchase) is false, so a rule never fires on what is
not known. Rules are tried in order; the first that holds decides (the last rule
of ``tiers`` and of ``stages`` must hold always: ``{"all": []}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "OPS",
    "RuleError",
    "Rules",
    "evaluate",
    "first_match",
    "load_rules",
]

OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in")
STAGES = ("获客", "激活", "发展", "成熟", "流失", "挽回")
TIERS = ("高价值", "潜力", "普通")

Columns = Mapping[str, NDArray[Any]]


class RuleError(ValueError):
    """A rules document that cannot be used (the message names the place)."""


@dataclass(frozen=True, slots=True)
class Rules:
    """A parsed, checked rules document."""

    version: str
    document: dict[str, Any]

    @property
    def window_days(self) -> int:
        return int(self.document["rfm"]["window_days"])

    @property
    def clv(self) -> dict[str, Any]:
        return dict(self.document["clv"])

    @property
    def cuts(self) -> dict[str, tuple[str, float]]:
        return {k: (str(v[0]), float(v[1])) for k, v in self.document["cuts"].items()}

    @property
    def tiers(self) -> list[dict[str, Any]]:
        return list(self.document["tiers"])

    @property
    def stages(self) -> list[dict[str, Any]]:
        return list(self.document["stages"])

    @property
    def tags(self) -> list[dict[str, Any]]:
        return list(self.document["tags"])

    @property
    def interests(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.document.get("interests", {}).items()}

    @property
    def online_channels(self) -> frozenset[str]:
        return frozenset(c.lower() for c in self.document.get("online_channels", ()))


def _check_condition(cond: Any, where: str) -> None:
    if not isinstance(cond, dict):
        raise RuleError(f"{where}: a condition must be an object")
    for key in ("all", "any"):
        if key in cond:
            if not isinstance(cond[key], list):
                raise RuleError(f"{where}.{key}: must be a list of conditions")
            for i, part in enumerate(cond[key]):
                _check_condition(part, f"{where}.{key}[{i}]")
            return
    if "field" not in cond or "op" not in cond:
        raise RuleError(f"{where}: needs all/any, or field and op")
    if cond["op"] not in OPS:
        raise RuleError(f"{where}.op: {cond['op']!r} is not one of {', '.join(OPS)}")
    if ("value" in cond) == ("ref" in cond):
        raise RuleError(f"{where}: give exactly one of value and ref")
    if cond["op"] == "in" and not isinstance(cond.get("value"), list):
        raise RuleError(f"{where}.value: op 'in' needs a list")


def parse_rules(document: dict[str, Any]) -> Rules:
    """Check a rules document; :class:`RuleError` names the first problem."""
    for key in ("version", "rfm", "clv", "cuts", "tiers", "stages", "tags"):
        if key not in document:
            raise RuleError(f"rules: missing {key!r}")
    if int(document["rfm"].get("window_days", 0)) <= 0:
        raise RuleError("rules.rfm.window_days: must be a positive number of days")
    for name, spec in document["cuts"].items():
        if not (isinstance(spec, list) and len(spec) == 2 and 0 < float(spec[1]) < 1):
            raise RuleError(f"rules.cuts.{name}: must be [field, quantile between 0 and 1]")
    for section, label, allowed in (("tiers", "tier", TIERS), ("stages", "stage", STAGES)):
        rules = document[section]
        if not rules:
            raise RuleError(f"rules.{section}: must not be empty")
        for i, rule in enumerate(rules):
            if rule.get(label) not in allowed:
                raise RuleError(
                    f"rules.{section}[{i}].{label}: {rule.get(label)!r} is not one of "
                    f"{', '.join(allowed)}"
                )
            _check_condition(rule.get("when"), f"rules.{section}[{i}].when")
        if rules[-1]["when"] != {"all": []}:
            raise RuleError(f"rules.{section}: the last rule must always hold ({{'all': []}})")
    for i, rule in enumerate(document["tags"]):
        if not str(rule.get("tag") or "").strip():
            raise RuleError(f"rules.tags[{i}].tag: must not be empty")
        _check_condition(rule.get("when"), f"rules.tags[{i}].when")
    return Rules(version=str(document["version"]), document=document)


@cache
def _default_rules() -> Rules:
    text = resources.files("c360.platform.value").joinpath("rules.json").read_text("utf-8")
    return parse_rules(json.loads(text))


def load_rules(path: str | Path | None = None) -> Rules:
    """The rules in force: ``path``, else ``C360_VALUE_RULES``, else the package's."""
    chosen = path or os.environ.get("C360_VALUE_RULES")
    if not chosen:
        return _default_rules()
    try:
        document = json.loads(Path(chosen).read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RuleError(f"value rules {chosen}: {error}") from error
    return parse_rules(document)


def _compare(op: str, left: NDArray[Any], right: Any) -> NDArray[np.bool_]:
    if op == "in":
        return np.isin(left, np.asarray(right, dtype=left.dtype if left.dtype != object else None))
    with np.errstate(invalid="ignore"):
        if op == "eq":
            out = left == right
        elif op == "ne":
            out = left != right
        elif op == "lt":
            out = left < right
        elif op == "le":
            out = left <= right
        elif op == "gt":
            out = left > right
        else:
            out = left >= right
    return np.asarray(out, dtype=bool)


def evaluate(cond: Mapping[str, Any], columns: Columns, cuts: Mapping[str, float], n: int) -> Any:
    """Where ``cond`` holds, as a boolean array of length ``n``."""
    if "all" in cond:
        out = np.ones(n, dtype=bool)
        for part in cond["all"]:
            out &= evaluate(part, columns, cuts, n)
        return out
    if "any" in cond:
        out = np.zeros(n, dtype=bool)
        for part in cond["any"]:
            out |= evaluate(part, columns, cuts, n)
        return out
    name = cond["field"]
    if name not in columns:
        raise RuleError(
            f"rule field {name!r} is not known; fields are {', '.join(sorted(columns))}"
        )
    left = columns[name]
    if "ref" in cond:
        ref = cond["ref"]
        if ref in columns:
            right: Any = columns[ref]
        elif ref in cuts:
            right = cuts[ref]
        else:
            raise RuleError(f"rule ref {ref!r} is neither a field nor a cut point")
        right = right * float(cond.get("times", 1.0))
    else:
        right = cond["value"]
    return _compare(cond["op"], left, right)


def first_match(
    rules: list[dict[str, Any]],
    label: str,
    columns: Columns,
    cuts: Mapping[str, float],
    n: int,
) -> tuple[NDArray[Any], NDArray[np.int64]]:
    """For each customer, the ``label`` of the first rule that holds and that
    rule's index (every customer matches the last rule)."""
    chosen = np.full(n, -1, dtype=np.int64)
    for i, rule in enumerate(rules):
        undecided = chosen < 0
        if not undecided.any():
            break
        hit = evaluate(rule["when"], columns, cuts, n) & undecided
        chosen[hit] = i
    labels = np.array([rule[label] for rule in rules], dtype=object)
    return labels[chosen], chosen
