"""How well does identity resolution do on the demo data set (with its ground truth)?

The operator's path, no labels anywhere: generate the demo exports, sync the four
sources with the model in force (the untrained defaults), then
``c360 resolve --rebuild`` (train on the synced records, re-resolve everything),
and only then score pairwise precision and recall against ``truth.csv``.

    python bench/demo_quality.py                # 10,000 people, 1,000 companies
    python bench/demo_quality.py --smoke        # 1,000 people, for CI

Prints ``name=value`` lines; the last is the summary for accepted records after
the rebuild.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from c360.connectors.offline.roots import allow_import_root
from c360.connectors.runner import SyncRunner
from c360.demo.evaluation import score_links
from c360.demo.generate import generate_demo_data, load_truth
from c360.platform.db import make_engine, migrate
from c360.platform.matching.rebuild import rebuild
from c360.platform.sources import save_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=360)
    parser.add_argument("--smoke", action="store_true", help="1,000 people, for CI")
    args = parser.parse_args()
    if args.smoke:
        args.people, args.companies = 1_000, 100
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        dataset = generate_demo_data(
            Path(tmp) / "files", people=args.people, companies=args.companies, seed=args.seed
        )
        print(
            f"stage=generate people={args.people} companies={args.companies} "
            f"seconds={time.perf_counter() - started:.2f}",
            flush=True,
        )
        allow_import_root(dataset.directory)  # a bench's own temporary files
        engine = make_engine(f"sqlite:///{Path(tmp) / 'demo.db'}")
        migrate(engine)
        started = time.perf_counter()
        for source in dataset.sources:
            save_source(engine, source.name, source.connector, source.config, trust=source.trust)
            SyncRunner(engine).sync(source.name)
        synced = time.perf_counter() - started
        truth = load_truth(dataset.truth_path)
        first = score_links(engine, truth, accepted_only=True)
        print(
            f"stage=sync_untrained precision={first.precision:.4f} recall={first.recall:.4f} "
            f"f1={first.f1:.4f} seconds={synced:.1f}",
            flush=True,
        )
        report = rebuild(engine, retrain=True, seed=args.seed)
        print(
            f"stage=rebuild model_version={report.model_version} records={report.records} "
            f"customers_before={report.customers_before} customers_after={report.customers_after} "
            f"kept_ids={report.kept_ids} seconds={report.seconds:.1f}",
            flush=True,
        )
        every = score_links(engine, truth)
        print(
            f"stage=rebuilt_all_records precision={every.precision:.4f} "
            f"recall={every.recall:.4f} f1={every.f1:.4f} records={every.records}"
        )
        final = score_links(engine, truth, accepted_only=True)
        engine.dispose()
    print(
        f"precision={final.precision:.4f} recall={final.recall:.4f} f1={final.f1:.4f} "
        f"records={final.records} true_pairs={final.true_pairs} "
        f"predicted_pairs={final.predicted_pairs}"
    )


if __name__ == "__main__":
    main()
