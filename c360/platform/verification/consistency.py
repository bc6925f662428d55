"""Cross-source consistency: for one customer, a matrix of what agrees and what
contradicts.

Rows (:class:`Comparison`), each ``agree``, ``contradict`` or skipped when a
side is unknown:

* **region**: the id number's division, the phone's allocation region, the
  address's province, the stated province and, for organizations, the USCC's
  division — compared by province, pairwise;
* **birth date / gender**: what the id number says vs what each source stated;
* **name**: the names the sources give (one name, or several);
* **registration** (organizations): the bureau's registration status (存续 /
  在业 agree; 注销 / 吊销 / 撤销 contradict that the customer trades) and legal
  representative vs what the customer's sources say.

A mobile number's region is where its block was allocated and an id number's
is where it was first issued: people move, so one region contradiction is a
hint. :func:`region_contradiction` says when it is a finding (three provinces
among id, phone and address; or a USCC registered in another province than the
address).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from c360.platform.bureau import registration_closed

Verdict = Literal["agree", "contradict"]
OPERATING_STATUSES = ("存续", "在业", "开业", "正常", "active", "in business")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One cell of the matrix: ``left`` and ``right`` (what was compared, e.g.
    ``id_number.region`` and ``phone.region``) agree or contradict."""

    aspect: str
    left: str
    right: str
    verdict: Verdict
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "aspect": self.aspect,
            "left": self.left,
            "right": self.right,
            "verdict": self.verdict,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the matrix compares, already read: regions by where they come from,
    the id number's birth date and gender, what sources stated."""

    regions: Mapping[str, str]
    """``id_number`` / ``phone`` / ``address`` / ``stated`` / ``uscc`` → province"""
    id_birth_date: str | None = None
    id_gender: str | None = None
    stated_birth_dates: tuple[tuple[str, str], ...] = ()
    """``(source, value)`` for each source that stated one"""
    stated_genders: tuple[tuple[str, str], ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    registration: Mapping[str, Any] | None = None
    """the bureau's registration answer (status, legal_representative…)"""
    legal_representatives: tuple[tuple[str, str], ...] = ()


_REGION_PAIRS = (
    ("id_number", "phone"),
    ("id_number", "address"),
    ("phone", "address"),
    ("stated", "address"),
    ("uscc", "address"),
    ("uscc", "phone"),
)


def _short(province: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
        if province.endswith(suffix):
            return province[: -len(suffix)]
    return province


def _distinct(values: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for source, value in values:
        found.setdefault(value, []).append(source)
    return found


def consistency_matrix(evidence: Evidence) -> list[Comparison]:
    """The comparisons that could be made (unknown sides are left out)."""
    rows: list[Comparison] = []
    regions = {k: v for k, v in evidence.regions.items() if v}
    for left, right in _REGION_PAIRS:
        if left in regions and right in regions:
            a, b = regions[left], regions[right]
            same = _short(a) == _short(b)
            rows.append(
                Comparison(
                    "region",
                    f"{left}.region",
                    f"{right}.region",
                    "agree" if same else "contradict",
                    a if same else f"{a} vs {b}",
                )
            )
    for aspect, derived, stated in (
        ("birth_date", evidence.id_birth_date, evidence.stated_birth_dates),
        ("gender", evidence.id_gender, evidence.stated_genders),
    ):
        if derived is None:
            continue
        for value, sources in _distinct(stated).items():
            rows.append(
                Comparison(
                    aspect,
                    f"id_number.{aspect}",
                    f"{aspect} ({', '.join(sorted(sources))})",
                    "agree" if value == derived else "contradict",
                    derived if value == derived else f"id number says {derived}, stated {value}",
                )
            )
    names = _distinct(evidence.names)
    if len(evidence.names) >= 2:
        rows.append(
            Comparison(
                "name",
                "name",
                f"name across {len({s for s, _ in evidence.names})} sources",
                "agree" if len(names) == 1 else "contradict",
                " / ".join(sorted(names)),
            )
        )
    registration = evidence.registration or {}
    status = registration.get("status")
    if status:
        closed = registration_closed(status)
        rows.append(
            Comparison(
                "registration",
                "registration.status",
                "customer trading",
                "contradict" if closed else "agree",
                str(status),
            )
        )
    registered_rep = registration.get("legal_representative")
    if registered_rep:
        for value, sources in _distinct(evidence.legal_representatives).items():
            rows.append(
                Comparison(
                    "legal_representative",
                    "registration.legal_representative",
                    f"legal_representative ({', '.join(sorted(sources))})",
                    "agree" if value == registered_rep else "contradict",
                    value
                    if value == registered_rep
                    else f"registry {registered_rep}, stated {value}",
                )
            )
    return rows


def region_contradiction(evidence: Evidence) -> str | None:
    """Why the regions contradict as a finding (see the module docstring), or None."""
    regions = {k: _short(v) for k, v in evidence.regions.items() if v}
    personal = [regions[k] for k in ("id_number", "phone", "address") if k in regions]
    if len(set(personal)) >= 3:
        return "id number, phone and address name three provinces"
    if "uscc" in regions and "address" in regions and regions["uscc"] != regions["address"]:
        return "registered in one province (USCC), addressed in another"
    return None
