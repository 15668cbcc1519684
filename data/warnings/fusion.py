"""Fusion: reports of one incident from several feeds (same cell, within a window) become one
``incidents`` row, linked to its events in ``incident_events``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.store import Database, registered
from data.times import to_py


def fusion_candidates(db: Database, groups, now: pd.Timestamp) -> list[tuple]:
    """Per fusion group: (group, candidate events, recent incidents) read before the write."""
    out = []
    for g in groups:
        window = pd.Timedelta(minutes=g.window_min)
        pairs = " OR ".join("(e.source = ? AND e.category = ?)" for _ in g.members)
        params = [v for m in g.members for v in (m["source"], m["category"])]
        ev = db.query_df(
            f"""
            SELECT e.source, e.source_event_id, e.cell_key, e.event_time, ie.incident_id
            FROM events e
            LEFT JOIN incident_events ie
              ON ie.source = e.source AND ie.source_event_id = e.source_event_id
            WHERE ({pairs}) AND e.event_time > ? AND e.event_time <= ?
            ORDER BY e.cell_key, e.event_time
            """,
            [*params, to_py(now - 2 * window), to_py(now)],
        )
        inc = db.query_df(
            "SELECT id, cell_key, first_time, sources FROM incidents"
            " WHERE group_id = ? AND first_time > ?",
            [g.id, to_py(now - 3 * window)],
        )
        out.append((g, ev, inc))
    return out


def fuse(con, now, group, ev: pd.DataFrame, inc: pd.DataFrame) -> int:
    """Group candidate reports into incidents; returns the incidents created or extended.

    One pass over the reports in (cell, time) order: a report joins the open cluster of its
    cell when it came within ``window_min`` of the cluster's first report (clusters already
    stored as incidents included), else it starts a new cluster. A cluster becomes an
    incident once ``min_sources`` feeds are in it."""
    if ev.empty:
        return 0
    window_us = int(group.window_min * 60e6)
    linked = ev["incident_id"].notna().to_numpy()
    if linked.all():
        return 0
    cells = ev["cell_key"].to_numpy(dtype=np.int64)
    t_us = pd.to_datetime(ev["event_time"], utc=True).dt.as_unit("us").astype("int64").to_numpy()
    src = ev["source"].to_numpy(dtype=object)
    ids_ = ev["source_event_id"].to_numpy(dtype=object)
    existing: dict[int, list] = {}
    if len(inc):
        first = (
            pd.to_datetime(inc["first_time"], utc=True).dt.as_unit("us").astype("int64").to_numpy()
        )
        for c, f, i, srcs in zip(inc["cell_key"], first, inc["id"], inc["sources"], strict=True):
            existing.setdefault(int(c), []).append([int(f), int(i), set(srcs.split(",")), []])
    clusters: list[list] = []  # [first_us, incident id or None, sources, new reports, cell]
    cur_cell, open_ = None, []
    for k in np.flatnonzero(~linked):
        c = int(cells[k])
        if c != cur_cell:
            cur_cell = c
            open_ = [[*x, c] for x in existing.get(c, [])]
            clusters.extend(open_)
        t = int(t_us[k])
        home = None
        for cl in open_:
            if cl[0] <= t <= cl[0] + window_us:
                home = cl
                break
        if home is None:
            home = [t, None, set(), [], c]
            open_.append(home)
            clusters.append(home)
        home[2].add(src[k])
        home[3].append(k)
    done = [cl for cl in clusters if cl[3] and len(cl[2]) >= group.min_sources]
    if not done:
        return 0
    new = [cl for cl in done if cl[1] is None]
    if new:
        seq = con.execute(f"SELECT nextval('incidents_seq') FROM range({len(new)})").fetchall()
        for cl, (nid,) in zip(new, seq, strict=True):
            cl[1] = int(nid)
    rows = pd.DataFrame(
        {
            "id": [cl[1] for cl in done],
            "is_new": [cl in new for cl in done],
            "cell_key": [cl[4] for cl in done],
            "first_time": pd.to_datetime([cl[0] for cl in done], unit="us", utc=True),
            "last_time": pd.to_datetime(
                [int(t_us[cl[3]].max()) for cl in done], unit="us", utc=True
            ),
            "sources": [",".join(sorted(cl[2])) for cl in done],
            "n": [len(cl[3]) for cl in done],
        }
    )
    idx = np.concatenate([np.asarray(cl[3]) for cl in done])
    links = pd.DataFrame(
        {
            "incident_id": np.repeat(rows["id"].to_numpy(), rows["n"].to_numpy()),
            "source": src[idx],
            "source_event_id": ids_[idx],
            "event_time": pd.to_datetime(t_us[idx], unit="us", utc=True),
        }
    )
    # unregistered also when a statement fails: the writer's connection lives on
    with registered(con, "fused_rows", rows), registered(con, "fused_links", links):
        con.execute(
            """
            INSERT INTO incidents (id, group_id, cell_key, community_key, township_key, county_key,
                city_key, first_time, last_time, sources, n_reports, created_at, updated_at)
            SELECT r.id, ?, r.cell_key, a.community_key, a.township_key, a.county_key, a.city_key,
                   r.first_time, r.last_time, r.sources, r.n, ?, ?
            FROM fused_rows r JOIN areas a ON a.key = r.cell_key WHERE r.is_new
            """,
            [group.id, to_py(now), to_py(now)],
        ).fetchall()
        con.execute(
            """
            UPDATE incidents SET last_time = greatest(incidents.last_time, r.last_time),
                sources = r.sources, n_reports = incidents.n_reports + r.n, updated_at = ?
            FROM fused_rows r WHERE incidents.id = r.id AND NOT r.is_new
            """,
            [to_py(now)],
        ).fetchall()
        con.execute(
            "INSERT INTO incident_events SELECT incident_id, source, source_event_id, event_time"
            " FROM fused_links ON CONFLICT DO NOTHING"
        ).fetchall()
    return len(done)
