"""Accuracy, smaller than bench/warnings.py: one simulated day on the default region with one
injected episode of every kind over a week of history, evaluated every 2 minutes. Looser floors
than the benchmark's budget (recall >= 0.9, false <= 2 per 1,000 cells per day)."""

from __future__ import annotations

import pandas as pd
import pytest

from data.region import load_region
from data.store import Database
from data.warnings import load_rules
from data.warnings.groundtruth import DEFAULT_MIX, run_accuracy


@pytest.mark.slow
def test_injected_episodes_are_warned_without_many_false_warnings(tmp_path):
    db = Database(tmp_path / "acc.duckdb")
    try:
        acc = run_accuracy(
            load_region("anshan"),
            db,
            load_rules(),
            start=pd.Timestamp("2026-06-03", tz="UTC"),
            days=1.0,
            history_weeks=1,
            interval_s=120.0,
            seed=7,
            mix=dict.fromkeys(DEFAULT_MIX, 1),
        )
    finally:
        db.close()
    assert acc["episodes"] == len(DEFAULT_MIX)
    assert acc["recall"] >= 0.7, acc["missed"]
    assert acc["false_per_1000_cells_day"] <= 5.0, acc["false_by_rule"]
    # every kind is caught at least once across the rule kinds, and accidents are fused
    assert sum(ok for ok, _n in acc["per_kind"].values()) >= 5
    assert acc["accident_fused"] == "1/1"
