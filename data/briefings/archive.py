"""The briefings archive: which scheduled briefings are due, where their files go, and the list
a reader may download.

The scheduler (:mod:`reports.schedule`) writes each briefing file under the briefings folder as
``<period>/<YYYY-MM-DD>/<area>-<lang>.<fmt>`` (the date is the period's first local day), first to
a temporary name and then renamed, and records it in ``briefing_files`` only then: a listed file
is always whole, and a crash mid-write leaves a stray temporary file, never a broken listing.

A period's briefing is due at the configured local time (``briefing_at``, default 07:30) of the
first day after the period: a day's on the next morning, an ISO week's on Monday, a month's on
the 1st of the next.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.areas import AreaScope
from data.files import write_atomic
from data.store import Database
from data.times import PERIODS, calendar_period, to_py, utc_now


@dataclass(frozen=True)
class Due:
    """One briefing to write: its period kind, the period's first local day, the area code,
    language and format."""

    period: str
    day: dt.date
    area: str
    lang: str
    fmt: str

    @property
    def relpath(self) -> str:
        """Where the file goes, relative to the briefings folder."""
        return f"{self.period}/{self.day.isoformat()}/{self.area}-{self.lang}.{self.fmt}"


def parse_at(text: str) -> dt.time:
    """``HH:MM`` as a time of day; ValueError with the reason otherwise."""
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"briefing time {text!r} is not HH:MM") from None


def latest_due(period: str, now, timezone: str, at: dt.time) -> dt.date:
    """The first local day of the newest ``period`` (day, week, month) whose briefing is due at
    ``now``: its period ended and the local time ``at`` of the next day has passed."""
    local = utc_now(now).tz_convert(timezone).tz_localize(None)
    today = local.normalize()
    # the newest period that ended by today's start, or by yesterday's when ``at`` is still ahead
    ended_by = today if local.time() >= at else today - pd.Timedelta(days=1)
    if period == "day":
        start = ended_by - pd.Timedelta(days=1)
    elif period == "week":
        # the week that ended by ``ended_by``: the ISO week before the one containing it
        start = ended_by - pd.Timedelta(days=ended_by.weekday() + 7)
    elif period == "month":
        start = ended_by.replace(day=1) - pd.DateOffset(months=1)
    else:
        raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    return start.date()


def due(
    db: Database,
    *,
    now,
    timezone: str,
    at: dt.time,
    areas: list[str],
    langs: tuple[str, ...],
    formats: tuple[str, ...],
    periods: tuple[str, ...] = PERIODS,
) -> list[Due]:
    """The briefings due at ``now`` not yet written: for each period kind its newest finished
    period (when the store holds events in it), for every area code, language and format."""
    done = {
        tuple(r) for r in db.query("SELECT period, day, area_code, lang, fmt FROM briefing_files")
    }
    out = []
    for period in periods:
        day = latest_due(period, now, timezone, at)
        if not _has_events(db, *calendar_period(period, day, timezone)):
            continue  # nothing happened (a new or idle store): no empty briefings to file
        for area in areas:
            for lang in langs:
                for fmt in formats:
                    if (period, day, area, lang, fmt) not in done:
                        out.append(Due(period, day, area, lang, fmt))
    return out


def _has_events(db: Database, since: pd.Timestamp, until: pd.Timestamp) -> bool:
    row = db.query_one(
        "SELECT 1 FROM cell_counts WHERE bucket >= ? AND bucket < ? LIMIT 1",
        [to_py(since), to_py(until)],
    )
    return row is not None


def write(
    db: Database,
    folder: Path,
    item: Due,
    body: bytes,
    *,
    events: int,
    now=None,
    notice_due: pd.Timestamp | None = None,
) -> int:
    """Write ``body`` as ``item``'s file under ``folder`` (temporary name, fsync, rename) and
    record it; returns the new row's id. A second write of the same briefing replaces it.

    ``notice_due``: also queue a webhook notice of the new file, due then (the next working
    time: quiet hours hold it), in the notification outbox and in the same transaction as the
    record, so it is posted only for a briefing that is listed (data/cases/notices.py posts it).
    """
    path = Path(folder) / item.relpath
    write_atomic(path, body)

    def record(con) -> int:
        con.execute(
            "DELETE FROM briefing_files WHERE period = ? AND day = ? AND area_code = ? "
            "AND lang = ? AND fmt = ?",
            [item.period, item.day, item.area, item.lang, item.fmt],
        )
        at = utc_now(now)
        row_id = con.execute(
            "INSERT INTO briefing_files (period, day, area_code, lang, fmt, path, bytes, events, "
            "generated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                item.period,
                item.day,
                item.area,
                item.lang,
                item.fmt,
                item.relpath,
                len(body),
                int(events),
                to_py(at),
            ],
        ).fetchone()[0]
        if notice_due is not None:
            payload = {
                "kind": "briefing",
                "id": int(row_id),
                "period": item.period,
                "day": item.day.isoformat(),
                "area": item.area,
                "lang": item.lang,
                "format": item.fmt,
                "url": f"/briefings/file/{int(row_id)}",
                "at": at.isoformat(),
            }
            con.execute(
                "INSERT INTO notice_outbox (notification_id, payload, created_at, due_at, "
                "next_try_at) VALUES (NULL, ?, ?, ?, ?)",
                [json.dumps(payload), to_py(at), to_py(notice_due), to_py(notice_due)],
            )
        return row_id

    return int(db.write(record))


def listing(db: Database, scope: AreaScope, *, limit: int = 500) -> pd.DataFrame:
    """The archived briefings about areas inside ``scope`` (a county leader's list holds their
    own area's and its sub-areas' briefings, never the city's or another county's), newest
    period first: id, period, day, area_code, name_zh, name_en, lang, fmt, bytes, events,
    generated_at."""
    cond, params = "true", []
    if scope.level != "city":
        cond, params = f"(a.key = ? OR a.{scope.column} = ?)", [int(scope.key), int(scope.key)]
    return db.query_df(
        f"""
        SELECT b.id, b.period, b.day, b.area_code, a.name_zh, a.name_en, b.lang, b.fmt,
               b.bytes, b.events, b.generated_at
        FROM briefing_files b JOIN areas a ON a.code = b.area_code
        WHERE {cond}
        ORDER BY b.day DESC, b.period, a.level = 'city' DESC, b.area_code, b.lang, b.fmt
        LIMIT ?
        """,
        [*params, int(limit)],
    )


def find(db: Database, briefing_id: int) -> dict | None:
    """One archived briefing's row (id, period, day, area_code, lang, fmt, path), or None."""
    row = db.query_one(
        "SELECT id, period, day, area_code, lang, fmt, path FROM briefing_files WHERE id = ?",
        [int(briefing_id)],
    )
    if row is None:
        return None
    return dict(zip(("id", "period", "day", "area_code", "lang", "fmt", "path"), row, strict=True))


def period_bounds(period: str, day: dt.date, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[since, until) of the archived briefing's period (for its label)."""
    return calendar_period(period, day, timezone)


def scheduled_areas(db: Database) -> list[str]:
    """The areas that get scheduled briefings: the city and each county (codes, city first)."""
    rows = db.query(
        "SELECT code FROM areas WHERE level IN ('city', 'county') "
        "ORDER BY level = 'city' DESC, code"
    )
    return [str(r[0]) for r in rows]
