"""How well does c360 link FEBRL4 without labels, through the incremental path?

Dataset 4a is one source, 4b another (5,000 true pairs; the CSVs and their
licence are in ``bench/data/febrl4``). The run:

1. normalizes every record as ingest does and trains the match model on them
   with no labels (u from random pairs, m by EM over blocked pairs), storing it
   as the model version in force — the model itself is data: :data:`SETTINGS`;
2. ingests the 10,000 records, shuffled and interleaved, in batches, through the
   same ``Ingestor`` (and probabilistic resolver) the connectors use;
3. only then reads the true pairs from ``rec_id`` and scores the links.

``--product`` asks instead how c360 does *as a user would run it*: no settings
written for FEBRL. Each file is exported with its columns put together as
canonical attributes (``name`` = given name + surname, ``address`` = street
number + address lines + suburb + state + postcode, ``birth_date``, and the
social-security number as the ``member_no`` id column), synced through the
``offline`` connector with the **default** model, scored, then ``c360 resolve
--rebuild`` (trained, subject to the training guard) and scored again.

Prints ``name=value`` lines, the summary last::

    python bench/febrl.py                   # one run
    python bench/febrl.py --shuffles 5      # five arrival orders: F1 spread
    python bench/febrl.py --smoke           # 1,000 records, for CI
    python bench/febrl.py --product         # defaults, through the offline connector
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from c360.connectors.offline.roots import allow_import_root
from c360.connectors.runner import SyncRunner
from c360.demo.evaluation import score_links
from c360.platform.db import make_engine, migrate
from c360.platform.ingest import Ingestor
from c360.platform.matching.features import record_features
from c360.platform.matching.rebuild import rebuild
from c360.platform.matching.settings import MatchSettings
from c360.platform.matching.store import save_model
from c360.platform.matching.training import train_model
from c360.platform.normalize import normalize_record
from c360.platform.records import IncomingRecord
from c360.platform.sources import save_source

DATA = Path(__file__).parent / "data" / "febrl4"
FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
)


def _levels(*levels: dict[str, Any]) -> list[dict[str, Any]]:
    return [*levels, {"label": "different", "kind": "else", "m": 0.1, "u": 0.9}]


def _name(feature: str, other: str) -> dict[str, Any]:
    return {
        "name": feature,
        "feature": feature,
        "levels": _levels(
            {"label": "exact", "kind": "exact", "term_frequency": True, "m": 0.8, "u": 0.001},
            {
                "label": "Damerau-Levenshtein <= 1",
                "kind": "damerau_levenshtein",
                "threshold": 1,
                "m": 0.08,
                "u": 0.002,
            },
            {
                "label": "Jaro-Winkler >= 0.9",
                "kind": "jaro_winkler",
                "threshold": 0.9,
                "m": 0.04,
                "u": 0.005,
            },
            {
                "label": f"swapped with {other}",
                "kind": "exact",
                "other_feature": other,
                "m": 0.02,
                "u": 0.0001,
            },
            {
                "label": "Jaro-Winkler >= 0.8",
                "kind": "jaro_winkler",
                "threshold": 0.8,
                "m": 0.02,
                "u": 0.02,
            },
        ),
    }


SETTINGS: dict[str, Any] = {
    "name": "febrl4",
    "comparisons": [
        _name("given_name", "surname"),
        _name("surname", "given_name"),
        {
            "name": "date_of_birth",
            "feature": "dob",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "m": 0.8, "u": 1e-4},
                {"label": "one part or digit off", "kind": "date_typo", "m": 0.1, "u": 0.005},
                {
                    "label": "Damerau-Levenshtein <= 2",
                    "kind": "damerau_levenshtein",
                    "threshold": 2,
                    "m": 0.05,
                    "u": 0.02,
                },
            ),
        },
        {
            "name": "soc_sec_id",
            "feature": "soc_sec_id",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "m": 0.8, "u": 1e-5},
                {
                    "label": "Damerau-Levenshtein <= 1",
                    "kind": "damerau_levenshtein",
                    "threshold": 1,
                    "m": 0.1,
                    "u": 1e-4,
                },
                {
                    "label": "Damerau-Levenshtein <= 2",
                    "kind": "damerau_levenshtein",
                    "threshold": 2,
                    "m": 0.05,
                    "u": 1e-3,
                },
            ),
        },
        {
            "name": "street_number",
            "feature": "street_number",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "term_frequency": True, "m": 0.8, "u": 0.01}
            ),
        },
        {
            "name": "postcode",
            "feature": "postcode",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "term_frequency": True, "m": 0.8, "u": 0.001},
                {
                    "label": "Damerau-Levenshtein <= 1",
                    "kind": "damerau_levenshtein",
                    "threshold": 1,
                    "m": 0.1,
                    "u": 0.01,
                },
            ),
        },
        {
            "name": "address_1",
            "feature": "address_1",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "term_frequency": True, "m": 0.7, "u": 1e-4},
                {
                    "label": "Jaro-Winkler >= 0.9",
                    "kind": "jaro_winkler",
                    "threshold": 0.9,
                    "m": 0.2,
                    "u": 0.002,
                },
            ),
        },
        {
            "name": "suburb",
            "feature": "suburb",
            "levels": _levels(
                {"label": "exact", "kind": "exact", "term_frequency": True, "m": 0.8, "u": 0.001},
                {
                    "label": "Jaro-Winkler >= 0.9",
                    "kind": "jaro_winkler",
                    "threshold": 0.9,
                    "m": 0.1,
                    "u": 0.005,
                },
            ),
        },
        {
            "name": "state",
            "feature": "state",
            "levels": _levels({"label": "exact", "kind": "exact", "m": 0.9, "u": 0.3}),
        },
    ],
    "blocking_rules": [
        {"name": "given_name+surname", "features": ["given_name", "surname"]},
        {"name": "date_of_birth", "features": ["dob"]},
        {"name": "soc_sec_id", "features": ["soc_sec_id"]},
        {"name": "state+address_1", "features": ["state", "address_1"]},
        {"name": "street_number+address_1", "features": ["street_number", "address_1"]},
        {"name": "postcode+surname", "features": ["postcode", "surname"]},
        {"name": "postcode+given_name", "features": ["postcode", "given_name"]},
        {"name": "suburb+street_number", "features": ["suburb", "street_number"]},
    ],
    "training_rules": [
        {"name": "date_of_birth", "features": ["dob"]},
        {"name": "postcode", "features": ["postcode"]},
        {"name": "surname", "features": ["surname"]},
    ],
    "shared_features": [],
    "match_threshold": 0.99,
    "max_candidates_per_key": 100,
}


def load(limit: int | None) -> dict[str, list[dict[str, str]]]:
    """The two files, ``limit`` entities each (None: all)."""
    out: dict[str, list[dict[str, str]]] = {}
    for part in ("a", "b"):
        with (DATA / f"dataset4{part}.csv").open(encoding="utf-8", newline="") as handle:
            rows = [
                {k.strip(): (v or "").strip() for k, v in row.items()}
                for row in csv.DictReader(handle)
            ]
        if limit is not None:
            rows = [r for r in rows if int(r["rec_id"].split("-")[1]) < limit]
        out[f"febrl4{part}"] = rows
    return out


def incoming(row: dict[str, str]) -> IncomingRecord:
    fields: dict[str, Any] = {f: row[f] for f in FIELDS if row[f]}
    name = " ".join(p for p in (row["given_name"], row["surname"]) if p)
    if name:
        fields["name"] = name
    if row["date_of_birth"]:
        fields["dob"] = row["date_of_birth"]
    if row["soc_sec_id"]:
        fields["soc_sec_id"] = row["soc_sec_id"]
        fields["member_no"] = row["soc_sec_id"]
    return IncomingRecord(
        stream="people", external_id=row["rec_id"], kind="person", fields=fields, raw=dict(row)
    )


def run_once(
    data: dict[str, list[dict[str, str]]], workdir: Path, seed: int, batch_size: int
) -> dict[str, float]:
    db = workdir / f"febrl-{seed}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    for source in data:
        save_source(engine, source, "offline", {})
    started = time.perf_counter()
    # 1. train without labels on the records as ingest will see them
    settings = MatchSettings.model_validate(SETTINGS)
    features = [
        record_features("person", normalize_record("person", incoming(r).fields).attributes)
        for rows in data.values()
        for r in rows
    ]
    model = train_model(settings, {"person": features}, seed=seed)
    with engine.begin() as conn:
        save_model(conn, model, created_by="bench/febrl.py")
    trained = time.perf_counter()
    # 2. ingest everything, shuffled across both sources, batch by batch
    stream = [(source, incoming(r)) for source, rows in data.items() for r in rows]
    random.Random(seed).shuffle(stream)
    ingestors = {source: Ingestor(source) for source in data}
    for i in range(0, len(stream), batch_size):
        batch = stream[i : i + batch_size]
        with engine.begin() as conn:
            for source, ingestor in ingestors.items():
                records = [rec for s, rec in batch if s == source]
                if records:
                    counts = ingestor.ingest(conn, records)
                    assert counts.balanced(), counts
    elapsed = time.perf_counter() - started
    # 3. only now: the truth
    truth = {
        (source, "people", r["rec_id"]): r["rec_id"].split("-")[1]
        for source, rows in data.items()
        for r in rows
    }
    score = score_links(engine, truth)
    engine.dispose()
    return {
        "precision": score.precision,
        "recall": score.recall,
        "f1": score.f1,
        "seconds": elapsed,
        "train_seconds": trained - started,
        "records": len(stream),
        "true_pairs": score.true_pairs,
        "predicted_pairs": score.predicted_pairs,
    }


PRODUCT_COLUMNS = {
    "rec_id": "id",
    "name": "name",
    "address": "address",
    "date_of_birth": "birth_date",
    "soc_sec_id": "member_no",
}


def export_canonical(rows: list[dict[str, str]], path: Path) -> None:
    """One FEBRL file as a user would export it for c360: canonical columns."""

    def joined(row: dict[str, str], *fields: str) -> str:
        return " ".join(row[f] for f in fields if row[f])

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PRODUCT_COLUMNS)
        for row in rows:
            writer.writerow(
                [
                    row["rec_id"],
                    joined(row, "given_name", "surname"),
                    joined(
                        row,
                        "street_number",
                        "address_1",
                        "address_2",
                        "suburb",
                        "state",
                        "postcode",
                    ),
                    row["date_of_birth"],
                    row["soc_sec_id"],
                ]
            )


def run_product(data: dict[str, list[dict[str, str]]], workdir: Path, seed: int) -> None:
    """Sync with the defaults, score; rebuild (trained), score. Prints the stages
    and the summary (after training) last."""
    files = workdir / "imports"
    files.mkdir()
    allow_import_root(files)  # the bench's own temporary files
    engine = make_engine(f"sqlite:///{workdir / 'febrl-product.db'}")
    migrate(engine)
    started = time.perf_counter()
    for source, rows in data.items():
        path = files / f"{source}.csv"
        export_canonical(rows, path)
        spec = {"path": str(path), "stream": "people", "kind": "person", "columns": PRODUCT_COLUMNS}
        spec["id_column"] = "rec_id"
        save_source(engine, source, "offline", {"files": [spec]})
        SyncRunner(engine).sync(source)
    synced = time.perf_counter() - started
    truth = {
        (source, "people", r["rec_id"]): r["rec_id"].split("-")[1]
        for source, rows in data.items()
        for r in rows
    }
    records = sum(len(rows) for rows in data.values())
    untrained = score_links(engine, truth)
    print(
        f"stage=sync_default_model precision={untrained.precision:.4f} "
        f"recall={untrained.recall:.4f} f1={untrained.f1:.4f} records={records} "
        f"records_per_s={records / synced:.0f} seconds={synced:.1f}",
        flush=True,
    )
    report = rebuild(engine, retrain=True, seed=seed)
    verdict = report.training_verdict
    trained = score_links(engine, truth)
    engine.dispose()
    print(
        f"stage=rebuild_trained accepted={verdict.accepted if verdict else None} "
        f"model_version={report.model_version} train_seconds={report.train_seconds:.1f} "
        f"seconds={report.seconds:.1f} reason={verdict.reason if verdict else ''!r}",
        flush=True,
    )
    seconds = synced + report.seconds
    print(
        f"precision={trained.precision:.4f} recall={trained.recall:.4f} f1={trained.f1:.4f} "
        f"records_per_s={records / seconds:.0f} seconds={seconds:.1f} "
        f"untrained_f1={untrained.f1:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuffles", type=int, default=1, help="arrival orders to try")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--smoke", action="store_true", help="1,000 records, for CI")
    parser.add_argument(
        "--product",
        action="store_true",
        help="the default model, through the offline connector with canonical columns",
    )
    args = parser.parse_args()
    data = load(500 if args.smoke else None)
    if args.product:
        with tempfile.TemporaryDirectory() as tmp:
            run_product(data, Path(tmp), args.seed)
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.shuffles):
            result = run_once(data, Path(tmp), args.seed + i, args.batch_size)
            results.append(result)
            print(
                f"shuffle={i + 1} seed={args.seed + i} "
                + " ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in result.items()
                ),
                flush=True,
            )
    f1s = [r["f1"] for r in results]
    if len(results) > 1:
        print(f"f1_min={min(f1s):.4f} f1_max={max(f1s):.4f} f1_spread={max(f1s) - min(f1s):.4f}")
    first = results[0]
    print(
        f"precision={statistics.mean(r['precision'] for r in results):.4f} "
        f"recall={statistics.mean(r['recall'] for r in results):.4f} "
        f"f1={statistics.mean(f1s):.4f} "
        f"records_per_s={first['records'] / first['seconds']:.0f} "
        f"seconds={first['seconds']:.1f}"
    )


if __name__ == "__main__":
    main()
