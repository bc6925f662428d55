"""Survivorship of one record (the fast path most customers take after a batch)
gives exactly what the general ranking gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from c360.platform.golden import Evidence, survive


def test_a_customer_of_one_record_survives_as_the_general_ranking_says() -> None:
    rng = random.Random(7)
    for i in range(500):
        attributes = {
            name: rng.choice([None, "", "张伟", "ZW@qq.com", 42, "x"])
            for name in ("name", "email", "phone", "name_pinyin", "city", "credit_score")
        }
        alone = Evidence(
            record_id=i,
            source="web",
            stream="people",
            external_id=f"w{i}",
            trust=rng.randrange(100),
            verified_fields=frozenset(rng.sample(["name", "email", "phone"], rng.randrange(4))),
            observed_at=rng.choice([None, datetime(2024, 5, 1, tzinfo=UTC)]),
            updated_at=datetime(2025, 1, 1, tzinfo=UTC),
            attributes=attributes,
        )
        silent = Evidence(  # a second record that says nothing: the general path
            record_id=10**6 + i,
            source="pos",
            stream="pos",
            external_id=f"p{i}",
            trust=0,
            verified_fields=frozenset(),
            observed_at=None,
            updated_at=datetime(2020, 1, 1, tzinfo=UTC),
            attributes={},
        )
        assert survive([alone]) == survive([alone, silent])
