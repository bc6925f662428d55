"""The demo's value and lifecycle: the world's orders judged as of the world's
own "today" (:data:`c360.demo.reference.TODAY`, through ``C360_VALUE_AS_OF``,
so the served demo's refresher keeps judging at the same moment), a CLV model
fitted on them before the indexer scores everyone, and the summary lines: the
tier and stage distributions and the model's parameters."""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import Engine

from c360.demo.reference import TODAY
from c360.platform.value.inputs import AS_OF_ENV
from c360.platform.value.model_store import refit
from c360.platform.value.reading import distributions, model_summary


def prepare_value(engine: Engine) -> Iterator[str]:
    """Judge value as of the demo's today and fit the CLV model on its orders."""
    os.environ.setdefault(AS_OF_ENV, f"{TODAY.isoformat()}T23:59:59+08:00")
    version = refit(engine, actor="c360-demo")
    with engine.connect() as conn:
        params = model_summary(conn)[0]["params"]
    bg = params.get("bgnbd")
    fitted = (
        f"BG/NBD r={bg['r']:.3f} alpha={bg['alpha']:.2f} a={bg['a']:.3f} b={bg['b']:.3f}"
        if bg
        else "; ".join(params.get("notes") or ["no fit"])
    )
    yield (
        f"value: CLV model {version} fitted as of {os.environ[AS_OF_ENV][:10]} on "
        f"{params['buyers']:,} buyers ({params['repeat_customers']:,} repeat): {fitted}"
    )


def value_figures(engine: Engine) -> Iterator[str]:
    """The tier and lifecycle-stage distributions over the scored customers."""
    with engine.connect() as conn:
        found = distributions(conn)
    for name, label in (("tier", "value tiers"), ("stage", "lifecycle stages")):
        counts = found[name]
        yield f"{label}: " + (", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none scored")
