"""How long do the data-quality report and a background-check report take?

The demo's four file sources are generated and synced into a SQLite file, the
verification package's judgment is computed (as the indexer would), then:

* the data-quality report over every stored record (``quality_s``, and
  ``quality_records_per_s``), the median of ``--repeats`` runs;
* a background-check report of one person and one company as compliance staff
  would ask for it, HTML and PDF (``report_html_ms``, ``report_pdf_ms``:
  medians over both customers and the repeats; the PDF includes parsing the
  CJK font, which is most of its time).

    python bench/reports.py                 # 10,000 people, 1,000 companies, 3 repeats
    python bench/reports.py --smoke         # 200 people, 20 companies, 1 repeat (CI)

Prints ``name=value`` lines, the summary last.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ``python bench/reports.py`` puts bench/ first on sys.path, where bench/graphql.py
# would shadow the graphql package the schema imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from sqlalchemy import text  # noqa: E402

from c360.auth.principal import READ_SCOPE, Principal  # noqa: E402
from c360.connectors.offline.roots import allow_import_root  # noqa: E402
from c360.connectors.runner import SyncRunner  # noqa: E402
from c360.demo.generate import generate_demo_data  # noqa: E402
from c360.platform.db import make_engine, migrate  # noqa: E402
from c360.platform.quality.report import quality_report  # noqa: E402
from c360.platform.sources import save_source  # noqa: E402
from c360.platform.verification.judgment import refresh_all  # noqa: E402
from c360.schema.report_http import produce_report  # noqa: E402

COMPLIANCE = Principal(
    subject="bench-compliance", roles=frozenset({"compliance"}), scopes=frozenset({READ_SCOPE})
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--smoke", action="store_true", help="200 people, 20 companies, once")
    args = parser.parse_args()
    if args.smoke:
        args.people, args.companies, args.repeats = 200, 20, 1
    with tempfile.TemporaryDirectory() as tmp:
        dataset = generate_demo_data(
            Path(tmp) / "files", people=args.people, companies=args.companies, seed=args.seed
        )
        allow_import_root(dataset.directory)  # the bench's own temporary files
        engine = make_engine(f"sqlite:///{Path(tmp) / 'reports.db'}")
        migrate(engine)
        started = time.perf_counter()
        for source in dataset.sources:
            save_source(engine, source.name, source.connector, source.config, trust=source.trust)
            SyncRunner(engine).sync(source.name)
        refresh_all(engine)
        print(f"stage=sync_and_verify seconds={time.perf_counter() - started:.1f}", flush=True)

        timings: list[float] = []
        records = 0
        for _ in range(args.repeats):
            with engine.connect() as conn:
                began = time.perf_counter()
                report = quality_report(conn)
                timings.append(time.perf_counter() - began)
            records = report.totals["records"]
        quality_s = statistics.median(timings)
        print(f"records={records} quality_runs={len(timings)} quality_s={quality_s:.3f}")

        with engine.connect() as conn:
            customers = [
                conn.execute(
                    text("SELECT min(id) FROM customer WHERE kind = :k AND merged_into IS NULL"),
                    {"k": kind},
                ).scalar_one()
                for kind in ("person", "organization")
            ]
        per_format: dict[str, list[float]] = {"html": [], "pdf": []}
        for _ in range(args.repeats):
            for customer in customers:
                for fmt, spent in per_format.items():
                    began = time.perf_counter()
                    produce_report(
                        engine, COMPLIANCE, customer, purpose="legal_obligation", fmt=fmt
                    )
                    spent.append((time.perf_counter() - began) * 1000)
        engine.dispose()
    html_ms = statistics.median(per_format["html"])
    pdf_ms = statistics.median(per_format["pdf"])
    print(
        f"people={args.people} companies={args.companies} records={records} "
        f"quality_s={quality_s:.3f} quality_records_per_s={records / quality_s:.0f} "
        f"report_html_ms={html_ms:.0f} report_pdf_ms={pdf_ms:.0f}"
    )


if __name__ == "__main__":
    main()
