"""Shared by the archive tests: a spread of real events over four months, ingested for real."""

from __future__ import annotations

import pandas as pd

from data.catalogue import CATEGORIES
from tests.support.region import tiny_cell_center

# sources with their events' value (environment readings need one)
SOURCES_USED = ("police", "traffic", "environment", "market")


def history_frames(
    now: pd.Timestamp, days: int = 120, step: int = 3
) -> list[tuple[str, pd.DataFrame]]:
    """(source, canonical frame) batches: every ``step`` days back to ``days`` ago, each source
    a few events at different hours, cells and severities (some with attributes)."""
    out = []
    for back in range(0, days + 1, step):
        day = (now - pd.Timedelta(days=back)).floor("D")
        for k, source in enumerate(SOURCES_USED):
            rows = []
            for i in range(1 + (back + k) % 4):
                lon, lat = tiny_cell_center(1 + (i + k) % 2, i % 4, (back + i) % 4)
                t = day + pd.Timedelta(hours=(3 * i + k + back) % 24, minutes=7 * i)
                if t >= now:
                    t = now - pd.Timedelta(minutes=10 + i)
                cats = CATEGORIES[source]
                rows.append(
                    {
                        "id": f"{source}-{back}-{i}",
                        "time": t.isoformat(),
                        "lon": lon,
                        "lat": lat,
                        "category": cats[(i + back) % len(cats)],
                        "severity": 1 + (i + back) % 5,
                        "value": float(back + i) if source == "environment" else None,
                        "text": f"事件 {source} {back} {i}",
                        "attributes": {"n": i, "note": "原始"} if i % 2 else None,
                    }
                )
            out.append((source, pd.DataFrame(rows)))
    return out


def ingest_history(runtime, now: pd.Timestamp, **kw) -> int:
    """Ingest :func:`history_frames` through the real pipeline; returns events accepted."""
    batches = history_frames_by_source(now, **kw)
    return runtime.pipeline.ingest_frames(batches, feed="test", now=now).accepted


def history_frames_by_source(now: pd.Timestamp, **kw) -> list[tuple[str, pd.DataFrame]]:
    """:func:`history_frames` as one batch per source (the pipeline's cost is per batch)."""
    by_source: dict[str, list[pd.DataFrame]] = {}
    for source, frame in history_frames(now, **kw):
        by_source.setdefault(source, []).append(frame)
    return [(s, pd.concat(f, ignore_index=True)) for s, f in by_source.items()]
