"""Cases from a publisher's history: replay a hotline file (e.g. NYC 311) as cases with their
real times. Beside the intake, not in it, so the intake does not depend on the replay (and through
it on the ingest pipeline)."""

from __future__ import annotations

import pandas as pd

from data.cases.intake import register_unplaced


def replay_history(pipeline, svc, mapping, path, *, feed: str | None = None) -> dict:
    """Replay a publisher's hotline file as cases with their real times (e.g. NYC 311).

    Events go through the ingest pipeline as any replay does (the listener makes their cases);
    requests the pipeline cannot place (no coordinates, outside the region) still become
    city-level cases through :func:`register_unplaced`. Returns counts.
    """
    from data.events import CATEGORIES
    from data.feeds.mapping import Mapping, load_mapping, map_file
    from data.feeds.replay import replay_file

    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    result = replay_file(pipeline, m, path, feed=feed)
    placed = svc.intake_hotline()
    frame = pd.concat(list(map_file(m, path)), ignore_index=True)
    reason = frame["_reason"].astype("object") if "_reason" in frame else pd.Series(None)
    location_only = reason.isna() | reason.fillna("").str.contains("coordinates")
    usable = (
        location_only
        & frame["id"].notna()
        & frame["time"].notna()
        & frame["category"].isin(CATEGORIES["hotline"])
    )
    have = {
        r[0]
        for r in svc.db.query(
            "SELECT source_event_id FROM events WHERE source = 'hotline' AND case_id IS NOT NULL"
        )
    }
    rest = frame[usable & ~frame["id"].isin(have)].drop_duplicates("id")
    unplaced = register_unplaced(svc, rest)
    del placed
    return {
        "accepted": result.accepted,
        "quarantined": result.quarantined,
        "cases_placed": int(
            svc.db.query_one(
                "SELECT count(*) FROM events WHERE feed = ? AND case_id IS NOT NULL",
                [feed or f"replay:{m.name}"],
            )[0]
        ),
        "cases_unplaced": unplaced,
    }
