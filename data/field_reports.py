"""Grid workers' field reports (page ``/report``): a report is a hotline event that becomes a case.

The report goes through the one ingest pipeline (validation, placement, quarantine of bad input),
then case intake. :func:`file_report` is what the page does: the policy's word, the report,
the audit entry.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd

from data import attachments, audit, policy, queries
from data.catalogue import CATEGORIES


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
    rt,
    user,
    category: str,
    text: str,
    lon: float,
    lat: float,
    photos: list[tuple[str, bytes | str]] = (),
) -> tuple[int | None, str | None]:
    """File ``user``'s report, if the policy lets them report at (lon, lat) (only roles that
    report, only inside their own area), with its ``photos`` (name, and the bytes or the browser's
    ``data:`` URL of the upload; checked by
    :func:`data.attachments.check_photos` before anything is written, so a bad photo refuses the
    whole report with :class:`~data.attachments.PhotoError`), and record it in the audit trail.

    Returns (case id, None); (None, ``"not_allowed"``) when the policy refuses; (None, the
    quarantine reason) when the pipeline does not accept it.
    """
    if not policy.may(user, "report", policy.point_target(rt.db, rt.pipeline.placer, lon, lat)):
        return None, "not_allowed"
    files = [
        (name, attachments.decode_upload(data) if isinstance(data, str) else data)
        for name, data in photos
    ]
    checked = attachments.check_photos(files, rt.settings.photo_max_mb)
    reporter = getattr(user, "username", "grid_worker")
    case_id, reason = submit_report(rt, category, text, lon, lat, reporter)
    if case_id is None:
        return None, reason
    folder = attachments.folder_for(rt.settings)
    ids = attachments.store_photos(rt.db, folder, case_id, checked, reporter)
    detail = {"category": category, "lon": lon, "lat": lat, "photos": ids}
    address = audit.current_address()  # bound to this request's thread, not the writer's

    def run(con) -> None:
        con.execute(
            "INSERT INTO field_reports (case_id, reporter, category, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [case_id, reporter, category, pd.Timestamp.now(tz="UTC")],
        ).fetchall()
        audit.record_con(
            con,
            reporter,
            "field_report.submit",
            object_type="case",
            object_id=case_id,
            address=address,
            detail=detail,
        )

    rt.db.write(run)
    return case_id, None


def my_reports(db, reporter: str, limit: int = 20) -> pd.DataFrame:
    """``reporter``'s latest reports with their cases' state now: case_id, category, state,
    department, created_at, closed_at, photos (count), newest first."""
    return db.query_df(
        """
        SELECT r.case_id, c.category, c.state, c.department, r.created_at, c.closed_at,
               (SELECT count(*) FROM case_attachments a WHERE a.case_id = r.case_id) AS photos
        FROM field_reports r JOIN cases c ON c.id = r.case_id
        WHERE r.reporter = ?
        ORDER BY r.created_at DESC, r.case_id DESC
        LIMIT ?
        """,
        [str(reporter), int(limit)],
    )


def report_form(rt, user) -> dict:
    """What the report page starts from for ``user``: the grid cells they may report in (key,
    code, lon, lat), and their own area's point (lon, lat; WGS84), preselected as the place."""
    from data.auth import scope_for_user

    scope = scope_for_user(rt.db, user)
    return {
        "cells": queries.grid_cells(rt.db, scope),
        "home": queries.area_point(rt.db, scope.key),
        "categories": rt.catalogue.categories.get("hotline", CATEGORIES["hotline"]),
    }
