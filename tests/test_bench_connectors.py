"""``bench/connectors.py`` runs end to end at a tiny size and prints its figures
as ``name=value`` pairs, the summary last (CI runs it with ``--smoke``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "connectors.py"


TINY = ["--records", "300", "--page-size", "100", "--events", "60", "--senders", "4"]


def test_the_connectors_bench_runs_and_prints_its_summary_last() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), *TINY, "--repeat", "1", "--no-baseline"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(
        r"pull_records_per_s=\d+ webhook_events_per_s=\d+ webhook_p99_ms=\d+\.\d"
        r" pull_resolved_records_per_s=\d+",
        lines[-1],
    ), lines[-1]
    pairs = dict(p.split("=", 1) for line in lines for p in line.split())
    assert pairs["records"] == "300" and pairs["events"] == "60"
    assert float(pairs["webhook_server_cpu_ms_per_event"]) > 0
    assert "load_average_before" in pairs and "load_average_after" in pairs
