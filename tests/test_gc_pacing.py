"""Bulk work collects cycles less often, and leaves the process's thresholds as
it found them, however deeply the pacing nests and whatever was set before."""

from __future__ import annotations

import gc

import pytest

from c360.platform.gc_pacing import BULK_THRESHOLDS, bulk_collection_pacing


def test_pacing_nests_and_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with bulk_collection_pacing():
            assert gc.get_threshold() == BULK_THRESHOLDS
            with bulk_collection_pacing():
                assert gc.get_threshold() == BULK_THRESHOLDS
            assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)


def test_pacing_never_collects_more_often_than_the_process_asked() -> None:
    before = gc.get_threshold()
    gc.set_threshold(50_000, 5, 500)
    try:
        with pytest.raises(RuntimeError), bulk_collection_pacing():
            assert gc.get_threshold() == (50_000, 50, 500)
            raise RuntimeError("the block failed")
        assert gc.get_threshold() == (50_000, 5, 500)
    finally:
        gc.set_threshold(*before)
