"""Grid workers' field reports (page ``/report``): a report is a hotline event that becomes a case.

The report goes through the one ingest pipeline (validation, placement, quarantine of bad input),
then case intake. :func:`file_report` is what the page does: the policy's word, the report,
the audit entry.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd

from data import audit, policy


def _case_of(db, event_id: str) -> int | None:
    row = db.query_one(
        "SELECT case_id FROM events WHERE source = 'hotline' AND source_event_id = ?", [event_id]
    )
    return None if row is None or row[0] is None else int(row[0])


def submit_report(
    rt,
    category: str,
    text: str,
    lon: float,
    lat: float,
    reporter: str,
    now: pd.Timestamp | None = None,
) -> tuple[int | None, str | None]:
    """Ingest a grid worker's report through ``rt``'s pipeline; returns (case id, None) or
    (None, the quarantine reason)."""
    now = now or pd.Timestamp.now(tz="UTC")
    event_id = f"grid-{uuid.uuid4().hex[:16]}"
    attributes = {"channel": "grid_worker", "type": "complaint", "reporter": reporter}
    frame = pd.DataFrame(
        {
            "id": [event_id],
            "time": [now],
            "lon": [float(lon)],
            "lat": [float(lat)],
            "category": [category],
            "severity": [2],
            "text": [text],
            "attributes": [json.dumps(attributes, ensure_ascii=False)],
        }
    )
    result = rt.pipeline.ingest_frame("hotline", frame, feed="grid_worker", now=now)
    if not result.accepted:
        return None, result.errors[0]["reason"] if result.errors else "duplicate"
    case_id = _case_of(rt.db, event_id)
    if case_id is None:  # hotline intake turned off: make this one case now
        rt.cases.intake_hotline()
        case_id = _case_of(rt.db, event_id)
    return case_id, None


def file_report(
    rt, user, category: str, text: str, lon: float, lat: float
) -> tuple[int | None, str | None]:
    """File ``user``'s report, if the policy lets them report at (lon, lat) (only roles that
    report, only inside their own area), and record it in the audit trail.

    Returns (case id, None); (None, ``"not_allowed"``) when the policy refuses; (None, the
    quarantine reason) when the pipeline does not accept it.
    """
    if not policy.may(user, "report", policy.point_target(rt.db, rt.pipeline.placer, lon, lat)):
        return None, "not_allowed"
    reporter = getattr(user, "username", "grid_worker")
    case_id, reason = submit_report(rt, category, text, lon, lat, reporter)
    if case_id is None:
        return None, reason
    detail = {"category": category, "lon": lon, "lat": lat}
    audit.record(
        rt.db, reporter, "field_report.submit", object_type="case", object_id=case_id, detail=detail
    )
    return case_id, None
