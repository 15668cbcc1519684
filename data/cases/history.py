"""Cases from a publisher's history: replay a hotline file (e.g. NYC 311) as cases with their
real times. Beside the intake, not in it, so the intake does not depend on the replay (and through
it on the ingest pipeline)."""

from __future__ import annotations

import pandas as pd

from data.cases.intake import register_unplaced

# a point every validity check accepts, put in place of a request's missing or unusable location
# to ask whether anything else is wrong with it
_SOMEWHERE = (1.0, 1.0)


def unplaced_requests(recon) -> pd.DataFrame:
    """The hotline requests of a replay that only lack a usable location (no, bad or (0, 0)
    coordinates, or outside the region) and are otherwise valid events: one row per id."""
    from data.events import validate_frame

    if not recon.unplaced:
        return pd.DataFrame()
    frame = pd.concat(recon.unplaced, ignore_index=True)
    probe = frame.drop(columns=["_reason"], errors="ignore")
    probe["lon"], probe["lat"] = _SOMEWHERE
    # the mapper's first reason hides later ones (a category it could not map is left empty),
    # so the rows are checked again with the location taken out of the question
    ok = validate_frame("hotline", probe).isna().to_numpy()
    return frame.loc[ok].drop_duplicates("id").reset_index(drop=True)


def replay_history(
    pipeline, svc, mapping, path, *, feed: str | None = None, reconciliation=None, **replay_kw
) -> dict:
    """Replay a publisher's hotline file as cases with their real times (e.g. NYC 311).

    Events go through the ingest pipeline as any replay does (the listener makes their cases);
    requests the pipeline cannot place (no coordinates, outside the region) but are otherwise
    valid still become city-level cases through :func:`register_unplaced` (docs/CASES.md).
    ``reconciliation`` (a :class:`data.feeds.reconcile.Reconciliation`) is filled if given;
    ``replay_kw`` go to :func:`data.feeds.replay.replay_file` (speed, lookups, shift_to,
    progress). Returns counts.
    """
    from data.feeds.mapping import Mapping, load_mapping
    from data.feeds.reconcile import Reconciliation
    from data.feeds.replay import replay_file

    m = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    recon = reconciliation or Reconciliation(mapping=m.name, source=m.source)
    recon.keep_unplaced = True
    feed = feed or f"replay:{m.name}"
    result = replay_file(pipeline, m, path, feed=feed, reconciliation=recon, **replay_kw)
    svc.intake_hotline()  # events stored without the intake hook (cases_from_hotline off)
    unplaced = register_unplaced(svc, unplaced_requests(recon))
    recon.unplaced.clear()
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "quarantined": result.quarantined,
        "cases_placed": int(
            svc.db.query_one(
                "SELECT count(*) FROM events WHERE feed = ? AND case_id IS NOT NULL", [feed]
            )[0]
        ),
        "cases_unplaced": unplaced,
    }
