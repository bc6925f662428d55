"""Scorecards as versioned data: stored, listed, activated, never replaced silently.

:func:`store_model` keeps a trained spec as a new ``candidate`` version; only
:func:`activate` (``c360 credit train --activate`` or ``c360 credit activate``)
puts it in force, retiring the one before, on the audit log. A refused model is
never stored (see :class:`~c360.platform.risk.scorecard.ModelRefused`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from c360.platform.audit import AuditEntry, append
from c360.platform.models import utcnow
from c360.platform.risk.models import credit_model
from c360.platform.risk.scorecard import Validation


def store_model(
    conn: Connection,
    spec: dict[str, Any],
    validation: Validation,
    *,
    created_by: str,
    note: str = "",
) -> int:
    """Store ``spec`` as the next version (a candidate); returns the version."""
    version = (
        int(conn.execute(select(func.coalesce(func.max(credit_model.c.version), 0))).scalar_one())
        + 1
    )
    summary = spec.get("summary") or {}
    conn.execute(
        insert(credit_model).values(
            version=version,
            status="candidate",
            created_at=utcnow(),
            created_by=created_by[:256],
            note=note[:512],
            auc=round(validation.auc, 4),
            auc_std=round(validation.auc_std, 4),
            ks=round(validation.ks, 4),
            gini=round(validation.gini, 4),
            samples=int(summary.get("samples", 0)),
            defaults=int(summary.get("defaults", 0)),
            spec={**spec, "validation": {"folds": validation.folds, "aucs": validation.aucs}},
        )
    )
    append(
        conn,
        [
            AuditEntry(
                principal=created_by,
                action="credit.model.train",
                purpose="risk_control",
                detail={"version": version, "auc": round(validation.auc, 4)},
            )
        ],
    )
    return version


def activate(conn: Connection, version: int, *, actor: str) -> int | None:
    """Put ``version`` in force; returns the version it replaced (or ``None``)."""
    row = conn.execute(
        select(credit_model.c.status).where(credit_model.c.version == version)
    ).first()
    if row is None:
        raise LookupError(f"no credit model version {version}")
    previous = active_version(conn)
    if previous == version:
        return None
    if previous is not None:
        conn.execute(
            update(credit_model).where(credit_model.c.version == previous).values(status="retired")
        )
    conn.execute(
        update(credit_model)
        .where(credit_model.c.version == version)
        .values(status="active", activated_at=utcnow(), activated_by=actor[:256])
    )
    append(
        conn,
        [
            AuditEntry(
                principal=actor,
                action="credit.model.activate",
                purpose="risk_control",
                detail={"version": version, "replaces": previous},
            )
        ],
    )
    return previous


def active_version(conn: Connection) -> int | None:
    found = conn.execute(
        select(credit_model.c.version).where(credit_model.c.status == "active")
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def load_model(conn: Connection, version: int | None = None) -> dict[str, Any] | None:
    """A model's row (``spec`` included): ``version``, else the one in force."""
    query = select(credit_model)
    query = (
        query.where(credit_model.c.version == version)
        if version is not None
        else query.where(credit_model.c.status == "active")
    )
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def list_models(conn: Connection) -> list[dict[str, Any]]:
    """Every version, newest first (without the specs)."""
    columns = [c for c in credit_model.c if c.name != "spec"]
    return [
        dict(r)
        for r in conn.execute(select(*columns).order_by(credit_model.c.version.desc())).mappings()
    ]
