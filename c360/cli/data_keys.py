"""``c360 keys rotate-data``: re-seal the encrypted fields under the current
master key. Mounted on ``c360 keys`` by :mod:`c360.cli.auth`."""

from __future__ import annotations

from typing import Annotated

import typer

from c360.cli.support import audit_command, console, open_engine, user_errors
from c360.platform.field_encryption import FieldKeyError, rotate
from c360.platform.locks import write_transaction


def rotate_data_command(
    batch: Annotated[int, typer.Option(min=1, help="rows per transaction")] = 500,
) -> None:
    """Re-seal every encrypted field under the current master key (C360_MASTER_KEY;
    the old one as C360_MASTER_KEY_PREVIOUS), and seal what is still in clear.
    Resumable: run it again after an interruption."""
    engine = open_engine()
    with user_errors(FieldKeyError):
        report = rotate(lambda: write_transaction(engine), batch=batch)
    audit_command(
        engine,
        action="keys.rotate-data",
        detail={k: str(v) for k, v in report.resealed.items()},
    )
    for where, count in sorted(report.resealed.items()):
        console.print(f"  {where}={count}")
    console.print(f"re-sealed {sum(report.resealed.values())} values in {report.batches} batches")
