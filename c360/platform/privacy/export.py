"""Access and portability (PIPL arts. 44-45): everything held about a person as
one JSON package, and the same as a human-readable HTML page.

The package is read through the erasure list (:data:`~c360.platform.privacy.
erasure.ERASURE`), so what an export shows and what an erasure removes are the
same set of rows by construction; it adds the customer row and the audit log's
entries about the person (who read what, when, why: field names, no values).
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.privacy.erasure import ERASURE, _table, person_ids, record_ids
from c360.platform.sealed_attributes import open_any_stored
from c360.platform.sql import chunks


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def export_person(conn: Connection, customer_id: int) -> dict[str, Any]:
    """The package for the person ``customer_id`` (and the ids merged into them)."""
    customers = person_ids(conn, customer_id)
    records = record_ids(conn, customers)
    ids = {"customer": customers, "record": records}
    tables: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, set[Any]] = {}
    for step in ERASURE:
        if step.parent is not None:
            continue
        table = _table(conn, step.table, [step.column])
        if table is None:
            continue
        key = next(iter(table.primary_key.columns)).name if table.primary_key.columns else None
        for chunk in chunks(ids[step.by]):
            for row in conn.execute(
                select(table).where(table.c[step.column].in_(chunk))
            ).mappings():
                marker = row[key] if key else json.dumps(dict(row), default=str)
                if marker in seen.setdefault(step.table, set()):
                    continue
                seen[step.table].add(marker)
                tables.setdefault(step.table, []).append(
                    {k: _plain(open_any_stored(f"{step.table}.{k}", v)) for k, v in row.items()}
                )
    people = [
        {k: _plain(v) for k, v in row.items()}
        for row in conn.execute(select(t.customer).where(t.customer.c.id.in_(customers))).mappings()
    ]
    reads = [
        {k: _plain(row[k]) for k in ("at", "principal", "client", "action", "purpose", "fields")}
        for row in conn.execute(
            select(t.audit_log)
            .where(t.audit_log.c.customer_id.in_(customers))
            .order_by(t.audit_log.c.id)
        ).mappings()
    ]
    return {"customer_id": customer_id, "customers": people, "tables": tables, "access_log": reads}


def to_html(package: dict[str, Any]) -> str:
    """The package as one self-contained HTML page (a table per stored table)."""
    parts = [
        "<!doctype html><meta charset='utf-8'><title>c360 personal data export</title>",
        f"<h1>Personal data held for customer {package['customer_id']}</h1>",
    ]

    def table(title: str, rows: list[dict[str, Any]]) -> None:
        parts.append(f"<h2>{html.escape(title)} ({len(rows)})</h2>")
        if not rows:
            return
        columns = list(rows[0])
        parts.append("<table border='1'><tr>")
        parts.extend(f"<th>{html.escape(c)}</th>" for c in columns)
        parts.append("</tr>")
        for row in rows:
            cells = (
                v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
                for v in (row.get(c) for c in columns)
            )
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append("</table>")

    table("customer", package["customers"])
    for name, rows in package["tables"].items():
        table(name, rows)
    table("who read this data (audit log)", package["access_log"])
    return "\n".join(parts)
