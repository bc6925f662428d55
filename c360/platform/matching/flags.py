"""Resolution flags a batch writes for stewards (``resolution_flag``): shared
identifiers and refused merges.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, func, select

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.matching.batch import ResolutionBatch
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.tables import flag, match_key
from c360.platform.models import utcnow
from c360.platform.privacy.masking import mask_identifier


def write_flags(
    conn: Connection,
    batch: ResolutionBatch,
    final: Callable[[int], int],
    memory: RebuildMemory | None,
) -> None:
    """Flag what the batch found and did not do: identifiers now shared by more
    than ``shared_identifier_customers`` customers (their value masked), and the
    links and merges the cluster-size guard refused. ``final`` maps a customer id
    to the one it ended as; ``memory``, during a rebuild, answers who holds a key."""
    settings = batch.model.settings
    limit = settings.shared_identifier_customers
    shared: dict[int, tuple[str, str, str]] = {}
    for rid in batch.linked:
        rk = batch.keys[rid]
        for key, (feature, value) in rk.values.items():
            if feature in settings.shared_features and batch.counts[key] > limit:
                shared[key] = (rk.kind, feature, value)
    now = utcnow()
    if shared:
        known = set(
            conn.execute(
                select(flag.c.key).where(
                    flag.c.kind == "shared_identifier", flag.c.key.in_(sorted(shared))
                )
            ).scalars()
        )
        new_flags = []
        for key, (kind, feature, value) in shared.items():
            if memory is not None:
                holders = memory.records_of_key.get(key, ())
                customers = len({memory.customer_of[rid] for rid in holders})
            else:
                customers = conn.execute(
                    select(func.count(func.distinct(t.record_link.c.customer_id)))
                    .select_from(match_key)
                    .join(t.record_link, t.record_link.c.record_id == match_key.c.record_id)
                    .where(match_key.c.key == key)
                ).scalar_one()
            if customers <= limit:
                continue
            detail = {
                "kind": kind,
                "feature": feature,
                "value": mask_identifier(feature, value),
                "customers": int(customers),
                "records": int(batch.counts[key]),
            }
            if key in known:
                conn.execute(
                    flag.update()
                    .where(flag.c.kind == "shared_identifier", flag.c.key == key)
                    .values(detail=detail, updated_at=now)
                )
            else:
                new_flags.append(
                    {
                        "kind": "shared_identifier",
                        "key": key,
                        "customer_id": None,
                        "detail": detail,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        bulk_insert(conn, flag, new_flags)
    cluster_flags = [
        {
            "kind": "cluster_size",
            "key": None,
            "customer_id": final(customer),
            "detail": {
                "refused": "link" if other == customer else "merge",
                **({} if other == customer else {"would_merge_with": final(other)}),
                "size": size,
                "limit": settings.max_cluster_size,
            },
            "created_at": now,
            "updated_at": now,
        }
        for customer, other, size in batch.refused_merges
    ]
    bulk_insert(conn, flag, cluster_flags)


__all__ = ["write_flags"]
