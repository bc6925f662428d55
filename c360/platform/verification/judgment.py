"""The authenticity judgment kept current: checks, verification states,
consistency matrix, fraud flags and the score of the customers of each indexer
batch (registered first in :data:`c360.platform.judgments.REFRESHERS`, so the
credit judgment may read it), of every customer (``c360 verify refresh``), or
of one (the API after a staff verification).

The API other packages build on (the background-check and data-quality reports):

* :func:`check_profile` — the graded checks of one golden profile (no database);
* :func:`refresh_authenticity` — recompute and store for some customers;
* :func:`authenticity_of` — the stored score rows (score, band, reasons, flags,
  consistency) by customer;
* :func:`checks_of` — the stored checks by customer and attribute;
* :func:`.state.states_of`, :func:`.state.overdue_verifications`.

Idempotent: the same inputs write the same rows (timestamps aside).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.bureau import latest_results
from c360.platform.customers.ids import for_every_live_customer
from c360.platform.golden import queue_for_index
from c360.platform.models import utcnow
from c360.platform.sealed_attributes import open_any_stored
from c360.platform.sql import chunks, execute_in, fetch_in
from c360.platform.verification.address import check_address
from c360.platform.verification.checks import CheckedValue
from c360.platform.verification.consistency import Evidence, consistency_matrix
from c360.platform.verification.documents import check_resident_id, check_uscc
from c360.platform.verification.email import check_email
from c360.platform.verification.flags import fraud_flags
from c360.platform.verification.models import (
    authenticity_score,
    verification_check,
    verification_state,
)
from c360.platform.verification.phone import check_phone
from c360.platform.verification.policy import VerificationPolicy, load_policy
from c360.platform.verification.rows import RefreshRows
from c360.platform.verification.score import Authenticity, authenticity
from c360.platform.verification.state import SYSTEM_ACTOR, next_states, states_of

CHECKED_ATTRIBUTES = ("id_number", "uscc", "phone", "email", "address")
RESHARED_LIMIT = 100
"""How many earlier holders of a batch's shared values one refresh recomputes."""
SHARED_KEYS = {
    "p:ric:": "id_number",
    "p:phoneany:": "phone",
    "p:email:": "email",
    "o:uscc:": "uscc",
    "o:email:": "email",
}
"""Identity keys whose sharing across customers the flags count, by attribute."""
_SHARED_PREFIXES = tuple(SHARED_KEYS)


def check_profile(
    kind: str, golden: Mapping[str, Any], policy: VerificationPolicy | None = None
) -> dict[str, CheckedValue]:
    """The checks of a golden profile's identifying attributes, by attribute."""
    policy = policy or load_policy()
    out: dict[str, CheckedValue] = {}
    for attribute in CHECKED_ATTRIBUTES:
        item = golden.get(attribute)
        value = item.get("value") if isinstance(item, dict) else None
        if not value:
            continue
        if attribute == "id_number" and kind == "person":
            out[attribute] = check_resident_id(str(value))
        elif attribute == "uscc" and kind == "organization":
            out[attribute] = check_uscc(str(value))
        elif attribute == "phone":
            out[attribute] = check_phone(str(value))
        elif attribute == "email":
            out[attribute] = check_email(str(value), policy.allowed_email_domains)
        elif attribute == "address":
            out[attribute] = check_address(str(value))
    return out


def _stated(golden: Mapping[str, Any], attribute: str) -> tuple[tuple[str, str], ...]:
    item = golden.get(attribute)
    if not isinstance(item, dict):
        return ()
    return tuple(
        (str(e.get("source") or "?"), str(e.get("value")))
        for e in item.get("lineage") or ()
        if e.get("value") not in (None, "")
    )


def evidence_of(
    golden: Mapping[str, Any], checks: Mapping[str, CheckedValue], bureau: Mapping[str, Any] | None
) -> Evidence:
    """What the consistency matrix compares, from a golden profile (each
    source's values are in its lineage), its checks and the bureau's answer."""
    regions: dict[str, str] = {}
    for attribute in ("id_number", "phone", "address", "uscc"):
        checked = checks.get(attribute)
        if checked is not None and checked.outcome != "fail" and checked.facts.get("province"):
            regions[attribute] = str(checked.facts["province"])
    stated = golden.get("province")
    if isinstance(stated, dict) and stated.get("value"):
        regions["stated"] = str(stated["value"])
    identity = checks.get("id_number")
    facts = identity.facts if identity is not None and identity.outcome != "fail" else {}
    return Evidence(
        regions=regions,
        id_birth_date=facts.get("birth_date"),
        id_gender=facts.get("gender"),
        stated_birth_dates=_stated(golden, "birth_date"),
        stated_genders=_stated(golden, "gender"),
        names=_stated(golden, "name"),
        registration=(bureau or {}).get("registration") or None,
        legal_representatives=_stated(golden, "legal_representative"),
    )


def _sources(golden: Mapping[str, Any]) -> int:
    return len(
        {
            e.get("source")
            for item in golden.values()
            if isinstance(item, dict)
            for e in item.get("lineage") or ()
        }
        - {None}
    )


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stored_moment(value: datetime | str) -> datetime:
    """A moment as read through the driver (SQLite gives text), zone-aware."""
    return _aware(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _peak(times: list[tuple[datetime, int]], window: timedelta) -> int:
    """The most distinct customers whose records fall within one ``window``."""
    times.sort()
    best, start = 0, 0
    inside: Counter[int] = Counter()  # the customers from times[start] on, with counts
    for at, customer in times:
        inside[customer] += 1
        while at - times[start][0] > window:
            gone = times[start][1]
            inside[gone] -= 1
            if not inside[gone]:
                del inside[gone]
            start += 1
        best = max(best, len(inside))
    return best


def _address_digest(checks: Mapping[str, CheckedValue]) -> str | None:
    address = checks.get("address")
    if address is None or address.outcome == "fail" or not address.facts.get("detail"):
        return None
    return hashlib.sha256(address.value.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Sharing:
    shared: dict[int, dict[str, int]]
    velocity: dict[int, dict[str, int]]
    others: set[int]
    """Customers outside the batch who hold one of its shared values."""


def _sharing(
    conn: Connection,
    ids: list[int],
    digests: Mapping[int, str | None],
    created: Mapping[int, datetime],
    window: timedelta,
) -> _Sharing:
    """Per customer and attribute: how many customers hold the same identity key
    (or address), and the most whose records with it arrived within ``window``."""
    ik, sr, cu = t.identity_key, t.source_record, t.customer
    shared: dict[int, dict[str, int]] = defaultdict(dict)
    velocity: dict[int, dict[str, int]] = defaultdict(dict)
    own: dict[str, set[int]] = defaultdict(set)
    for key, cid in fetch_in(
        conn, 'SELECT "key", customer_id FROM identity_key WHERE {cond}', "customer_id", ids
    ):
        if key.startswith(_SHARED_PREFIXES):
            own[key].add(int(cid))
    keys = list(own)
    holders: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for part in chunks(keys):
        many = [
            str(key)
            for (key,) in fetch_in(
                conn,
                'SELECT "key" FROM identity_key WHERE {cond} GROUP BY "key" '
                "HAVING COUNT(DISTINCT customer_id) > 1",
                '"key"',
                part,
            )
        ]
        if not many:
            continue
        for key, cid, seen, observed, merged in conn.execute(
            select(
                ik.c.key, ik.c.customer_id, sr.c.first_seen_at, sr.c.observed_at, cu.c.merged_into
            )
            .join(sr, sr.c.id == ik.c.record_id)
            .join(cu, cu.c.id == ik.c.customer_id)
            .where(ik.c.key.in_(many))
        ):
            if merged is None:
                holders[key].append((_aware(observed or seen), int(cid)))
    for key, customers in own.items():
        rows = holders.get(key)
        if not rows:
            continue
        attribute = next(a for p, a in SHARED_KEYS.items() if key.startswith(p))
        count = len({c for _, c in rows})
        peak = _peak(list(rows), window)
        for cid in customers:
            shared[cid][attribute] = max(shared[cid].get(attribute, 0), count)
            velocity[cid][attribute] = max(velocity[cid].get(attribute, 0), peak)
    wanted = {d for d in digests.values() if d}
    by_digest: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    if wanted:
        for cid, digest in digests.items():
            if digest:
                by_digest[digest].append((created[cid], cid))
        batch = set(ids)
        # merged customers are skipped here, not in SQL: given both conditions,
        # SQLite's planner walks every unmerged customer instead of the digest index
        for digest, cid, at, merged in fetch_in(
            conn,
            "SELECT a.address_digest, a.customer_id, cu.created_at, cu.merged_into "
            "FROM authenticity_score a JOIN customer cu ON cu.id = a.customer_id WHERE {cond}",
            "a.address_digest",
            sorted(wanted),
        ):
            if merged is None and int(cid) not in batch:
                by_digest[digest].append((_stored_moment(at), int(cid)))
        for cid, digest in digests.items():
            rows = by_digest.get(digest or "", [])
            if len(rows) > 1:
                shared[cid]["address"] = len({c for _, c in rows})
                velocity[cid]["address"] = _peak(list(rows), window)
    others = {c for rows in holders.values() for _, c in rows}
    if wanted:
        others |= {c for rows in by_digest.values() if len(rows) > 1 for _, c in rows}
    return _Sharing(shared, velocity, others - set(ids))


def refresh_authenticity(
    conn: Connection,
    customer_ids: Collection[int],
    *,
    now: datetime | None = None,
    policy: VerificationPolicy | None = None,
    follow_shared: int = RESHARED_LIMIT,
) -> dict[int, Authenticity]:
    """Recompute and store the checks, states and score of these customers
    (merged-away or unknown ones: their rows are dropped); returns the scores.

    Up to ``follow_shared`` customers outside the batch who hold one of its
    shared phones, ids, e-mails or addresses are recomputed too (once, not
    followed further), so an earlier holder is flagged when a later one arrives;
    those whose score or band changed are queued for the search index."""
    now = now or utcnow()
    policy = policy or load_policy()
    ids = sorted({int(c) for c in customer_ids})
    results: dict[int, Authenticity] = {}
    for part in chunks(ids):
        profiles = _profiles(conn, part)
        gone = [c for c in part if c not in profiles]
        for name in ("verification_check", "authenticity_score"):
            execute_in(conn, f"DELETE FROM {name} WHERE {{cond}}", "customer_id", part)
        if gone:
            execute_in(conn, "DELETE FROM verification_state WHERE {cond}", "customer_id", gone)
        live = sorted(profiles)
        if not live:
            continue
        checks = {
            cid: check_profile(kind, golden, policy) for cid, (kind, golden, _) in profiles.items()
        }
        digests = {cid: _address_digest(checks[cid]) for cid in live}
        window = timedelta(hours=policy.thresholds["velocity_window_hours"])
        sharing = _sharing(conn, live, digests, {c: profiles[c][2] for c in live}, window)
        bureau = latest_results(conn, live)
        existing = states_of(conn, live)
        rows = RefreshRows(conn, now)
        state_rows: list[dict[str, Any]] = []
        for cid in live:
            kind, golden, _created = profiles[cid]
            mine = checks[cid]
            rows.add_checks(cid, mine)
            states = next_states(cid, golden, mine, existing.get(cid, {}), now=now, policy=policy)
            state_rows.extend(states)
            evidence = evidence_of(golden, mine, bureau.get(cid))
            comparisons = consistency_matrix(evidence)
            flags = fraud_flags(
                mine,
                evidence,
                comparisons,
                shared=sharing.shared.get(cid, {}),
                velocity=sharing.velocity.get(cid, {}),
                bureau=bureau.get(cid),
                policy=policy,
            )
            overdue = {
                s["attribute"]
                for s in states
                if s["due_at"] is not None and _aware(s["due_at"]) < now
            }
            judged = authenticity(
                kind,
                mine,
                {s["attribute"]: _scored_status(s) for s in states},
                overdue,
                comparisons,
                flags,
                _sources(golden),
                policy,
            )
            results[cid] = judged
            rows.add_score(cid, judged, policy.version, comparisons, digests[cid])
        execute_in(conn, "DELETE FROM verification_state WHERE {cond}", "customer_id", live)
        rows.write(conn)
        bulk_insert(
            conn, verification_state, [s for s in state_rows if s["status"] != "unverified"]
        )
        others = sorted(sharing.others - set(ids) - set(results))[: max(0, follow_shared)]
        if others:
            follow_shared -= len(others)
            before = _stored_scores(conn, others)
            redone = refresh_authenticity(conn, others, now=now, policy=policy, follow_shared=0)
            results.update(redone)
            # Their search documents carry the band and score: an earlier holder
            # flagged by this arrival is reindexed now, not at its own next change.
            # Only a change is queued, so two holders never requeue each other.
            changed = [c for c, j in redone.items() if before.get(c) != (j.score, j.band)]
            if changed:
                queue_for_index(conn, changed)
    return results


def _profiles(conn: Connection, ids: list[int]) -> dict[int, tuple[str, dict[str, Any], datetime]]:
    """``(kind, golden profile, created)`` of the unmerged customers among ``ids``,
    read through the driver: the hot read of every indexer batch."""
    found: dict[int, tuple[str, dict[str, Any], datetime]] = {}
    for cid, kind, merged, created, attrs in fetch_in(
        conn,
        "SELECT cu.id, cu.kind, cu.merged_into, cu.created_at, gp.attributes FROM customer cu "
        "LEFT JOIN golden_profile gp ON gp.customer_id = cu.id WHERE {cond}",
        "cu.id",
        ids,
    ):
        if merged is None:
            if isinstance(attrs, (str, bytes)):
                attrs = orjson.loads(attrs)
            golden = open_any_stored("golden_profile.attributes", attrs) if attrs else {}
            found[int(cid)] = (str(kind), golden, _stored_moment(created))
    return found


def _stored_scores(conn: Connection, customer_ids: Collection[int]) -> dict[int, tuple[int, str]]:
    rows = conn.execute(
        select(
            authenticity_score.c.customer_id, authenticity_score.c.score, authenticity_score.c.band
        ).where(authenticity_score.c.customer_id.in_(sorted(customer_ids)))
    )
    return {int(cid): (int(score), str(band)) for cid, score, band in rows}


def _scored_status(state: Mapping[str, Any]) -> str:
    """A state as the score counts it: a value failed by its own checks is
    already counted by the checks (``failed_checks``: not again)."""
    if state["status"] == "failed" and state["verified_by"] == SYSTEM_ACTOR:
        return "failed_checks"
    return str(state["status"])


def authenticity_refresher(conn: Connection, customer_ids: Collection[int]) -> None:
    """The refresher :mod:`c360.platform.judgments` runs for each indexer batch."""
    refresh_authenticity(conn, customer_ids)


def refresh_all(engine: Engine, *, batch: int = 2000, now: datetime | None = None) -> int:
    """Refresh every unmerged customer; returns how many were looked at."""
    return for_every_live_customer(
        engine, lambda conn, part: refresh_authenticity(conn, part, now=now), batch=batch
    )


def authenticity_of(conn: Connection, customer_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """The stored authenticity rows (score, band, reasons, flags, consistency,
    computed_at) by customer."""
    found: dict[int, dict[str, Any]] = {}
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for row in conn.execute(
            select(authenticity_score).where(authenticity_score.c.customer_id.in_(part))
        ).mappings():
            found[int(row["customer_id"])] = dict(row)
    return found


def scores_and_bands(conn: Connection, customer_ids: Collection[int]) -> dict[int, tuple[int, str]]:
    """``(score, band)`` by customer, for the search index (one query per chunk)."""
    found: dict[int, tuple[int, str]] = {}
    a = authenticity_score
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for cid, score, band in conn.execute(
            select(a.c.customer_id, a.c.score, a.c.band).where(a.c.customer_id.in_(part))
        ):
            found[int(cid)] = (int(score), str(band))
    return found


def checks_of(
    conn: Connection, customer_ids: Collection[int]
) -> dict[int, dict[str, dict[str, Any]]]:
    """The stored checks by customer and attribute: ``{outcome, checks, facts, checked_at}``."""
    found: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    vc = verification_check
    for part in chunks(sorted({int(c) for c in customer_ids})):
        for row in conn.execute(select(vc).where(vc.c.customer_id.in_(part))).mappings():
            found[int(row["customer_id"])][row["attribute"]] = dict(row)
    return dict(found)
