"""Bulk intake: every 12345 request becomes a case, thousands at a time, without a Python loop.

The listener selects the new hotline events in one SQL statement (attributes read with DuckDB's
JSON functions), routes them with one join against the responsibility list, computes deadlines
with the vectorised calendar, and inserts cases, transitions and notifications as frames.

- ``attributes.channel == "grid_worker"``: a grid worker's report (origin ``grid_report``).
- ``attributes.type`` in the list's ``answered_on_call``: answered on the call, closed at once,
  never dispatched (so outside every department's metrics).
- the list's ``department_attribute`` (``agency`` by default) present: a publisher already routed
  it (historical replays): that value is the department; ``attributes.created`` / ``closed`` /
  ``due`` / ``status`` give the real times and state. A close before the creation is kept but
  flagged ``closed_before_created`` and left out of every timing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.cases.states import INITIAL, after
from data.times import to_py, utc_now, utc_series

EVENT_SQL = """
SELECT source_event_id AS ref, 'hotline.' || category AS category, severity, event_time,
       received_at, cell_key, community_key, township_key, county_key, city_key, lon, lat, text,
       json_extract_string(attributes, '$.type') AS req_type,
       json_extract_string(attributes, '$.channel') AS channel,
       json_extract_string(attributes, '$.' || ?) AS pub_department,
       json_extract_string(attributes, '$.status') AS pub_status,
       TRY_CAST(json_extract_string(attributes, '$.created') AS TIMESTAMPTZ) AS pub_created,
       TRY_CAST(json_extract_string(attributes, '$.closed') AS TIMESTAMPTZ) AS pub_closed,
       TRY_CAST(json_extract_string(attributes, '$.due') AS TIMESTAMPTZ) AS pub_due
FROM {relation}
WHERE source = 'hotline' AND case_id IS NULL {cond}
"""
HANDLING_STATUSES = ("started", "in progress")
# the states the intake gives, derived from the one state machine (data/cases/states.py)
DISPATCHED = after("dispatch", INITIAL)  # routed by the list (or by the publisher)
HANDLING = after("accept", DISPATCHED)  # the publisher's status says work has started
CLOSED = after("close", INITIAL)  # answered on the call; a publisher's close also ends here

CASE_COLUMNS = (
    "id",
    "origin",
    "origin_ref",
    "category",
    "area_key",
    "area_level",
    "cell_key",
    "community_key",
    "township_key",
    "county_key",
    "city_key",
    "lon",
    "lat",
    "title",
    "description",
    "urgency",
    "urgent",
    "department",
    "dept_level",
    "needs_decision",
    "state",
    "created_at",
    "dispatched_at",
    "accepted_at",
    "closed_at",
    "deadline_at",
    "flag",
    "updated_at",
)


def build_cases(svc, frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Case rows for intake rows (the columns of EVENT_SQL), without ids."""
    rules = svc.rules
    n = len(frame)
    f = frame.reset_index(drop=True)
    created = utc_series(f["pub_created"]).fillna(utc_series(f["event_time"]))
    closed = utc_series(f["pub_closed"])
    due = utc_series(f["pub_due"])
    routed = rules.route_frame(f)
    pub = f["pub_department"].astype("object").where(f["pub_department"].notna(), None)
    has_pub = pub.notna().to_numpy()
    department = np.where(has_pub, pub, routed["department"].to_numpy(dtype=object))
    dept_level = np.where(
        has_pub,
        [getattr(rules.departments.get(d), "level", None) for d in pub.fillna("")],
        routed["dept_level"].to_numpy(dtype=object),
    )
    department = pd.Series(department, dtype="object").where(pd.notna(department), None)
    sev = pd.to_numeric(f["severity"], errors="coerce").fillna(0).to_numpy()
    urgent = sev >= rules.hotline.urgent_severity
    urgency = np.where(urgent, "urgent", "normal")
    on_call = (f["req_type"].isin(rules.hotline.answered_on_call) & ~has_pub).to_numpy(dtype=bool)
    routed_ok = department.notna().to_numpy()
    has_closed = closed.notna().to_numpy()
    status = f["pub_status"].fillna("").str.lower()
    state = np.full(n, INITIAL, dtype=object)
    dispatched = routed_ok & ~on_call
    state[dispatched] = np.where(status[dispatched].isin(HANDLING_STATUSES), HANDLING, DISPATCHED)
    state[dispatched & has_closed] = CLOSED
    state[on_call] = CLOSED
    closed_at = closed.where(pd.Series(dispatched & has_closed), pd.NaT)
    closed_at = closed_at.where(~pd.Series(on_call), created)
    dispatched_at = created.where(pd.Series(dispatched), pd.NaT)
    # time limit: the publisher's due date, else the list's limit for the urgency class
    limit = np.where(urgent, routed["deadline_urgent"], routed["deadline_normal"])
    limit = pd.Series(limit, dtype="object")
    limit = limit.where(
        limit.notna(), np.where(urgent, rules.defaults["urgent"], rules.defaults["normal"])
    )
    deadline = pd.Series(pd.NaT, index=f.index, dtype="datetime64[us, UTC]")
    if dispatched.any():
        idx = np.flatnonzero(dispatched)
        calc = svc.calendar.add(pd.DatetimeIndex(created.iloc[idx]), limit.iloc[idx].tolist())
        deadline.iloc[idx] = calc.astype("datetime64[us, UTC]")
    deadline = due.where(due.notna() & pd.Series(dispatched), deadline)
    flag = np.where(
        dispatched & has_closed & (closed < created).to_numpy(dtype=bool),
        "closed_before_created",
        None,
    )
    origin = np.where(f["channel"].fillna("") == "grid_worker", "grid_report", "hotline")
    placed = f["cell_key"].notna().to_numpy()
    out = pd.DataFrame(
        {
            "origin": origin,
            "origin_ref": "hotline:" + f["ref"].astype(str),
            "category": f["category"].astype(str),
            "area_key": np.where(placed, f["cell_key"], f["city_key"]),
            "area_level": np.where(placed, "grid", "city"),
            "cell_key": f["cell_key"],
            "community_key": f["community_key"],
            "township_key": f["township_key"],
            "county_key": f["county_key"],
            "city_key": f["city_key"],
            "lon": f["lon"],
            "lat": f["lat"],
            "title": f["text"].astype("object").str.slice(0, 120),
            "description": f["text"],
            "urgency": urgency,
            "urgent": urgent,
            "department": department.where(~pd.Series(on_call), None),
            "dept_level": pd.Series(dept_level, dtype="object").where(~pd.Series(on_call), None),
            "needs_decision": ~routed_ok & ~on_call,
            "state": state,
            "created_at": created,
            "dispatched_at": dispatched_at,
            "accepted_at": pd.Series(pd.NaT, index=f.index, dtype="datetime64[us, UTC]"),
            "closed_at": closed_at,
            "deadline_at": deadline,
            "flag": pd.Series(flag, dtype="object"),
            "updated_at": pd.Series([now] * n, dtype="datetime64[us, UTC]"),
            "_ref": f["ref"].astype(str),
            "_on_call": on_call,
        }
    )
    for c in ("area_key", "cell_key", "community_key", "township_key", "county_key", "city_key"):
        out[c] = pd.array(out[c], dtype="Int32")
    return out


def insert_cases(
    con, svc, frame: pd.DataFrame, now: pd.Timestamp, *, received_at: pd.Timestamp | None = None
) -> int:
    """Insert the cases of intake rows, their transitions and notifications (inside the writer's
    transaction); links the events to their cases. Returns the number of cases.

    ``received_at``: when every row was received in one batch (the pipeline's write hook), the
    link to the events reads only that batch's rows instead of every hotline event stored."""
    if not len(frame):
        return 0
    cases = build_cases(svc, frame, now)
    n = len(cases)
    ids = [r[0] for r in con.execute("SELECT nextval('cases_seq') FROM range(?)", [n]).fetchall()]
    cases.insert(0, "id", np.array(ids, dtype=np.int64))
    con.register("new_cases", cases[list(CASE_COLUMNS)])
    con.execute("INSERT INTO cases BY NAME SELECT * FROM new_cases")
    con.unregister("new_cases")
    link = pd.DataFrame({"ref": cases["_ref"], "case_id": cases["id"]})
    con.register("case_link", link)
    # the batch's received_at lets the scan skip every older row group (zone maps): without it
    # each hotline batch read the whole events table, and push throughput fell with history
    same_batch, params = (
        ("AND events.received_at = ?", [to_py(received_at)])
        if received_at is not None
        else ("", [])
    )
    con.execute(
        "UPDATE events SET case_id = l.case_id FROM case_link l "
        f"WHERE events.source = 'hotline' AND events.source_event_id = l.ref {same_batch}",
        params,
    )
    con.unregister("case_link")
    # transitions: registered, then dispatched (routed) and closed (publisher or on the call)
    reg = pd.DataFrame(
        {
            "case_id": cases["id"],
            "from_state": None,
            "to_state": INITIAL,
            "action": "register",
            "actor": "12345",
            "department": None,
            "reason": None,
            "occurred_at": cases["created_at"],
        }
    )
    d = cases[cases["dispatched_at"].notna()]
    disp = pd.DataFrame(
        {
            "case_id": d["id"],
            "from_state": INITIAL,
            "to_state": DISPATCHED,
            "action": "dispatch",
            "actor": "system",
            "department": d["department"],
            "reason": "responsibility list",
            "occurred_at": d["dispatched_at"],
        }
    )
    c = cases[cases["state"] == CLOSED]
    close = pd.DataFrame(
        {
            "case_id": c["id"],
            "from_state": np.where(c["_on_call"], INITIAL, DISPATCHED),
            "to_state": CLOSED,
            "action": "close",
            "actor": "12345",
            "department": c["department"],
            "reason": np.where(c["_on_call"], "answered on the call", "closed by the publisher"),
            "occurred_at": c["closed_at"],
        }
    )
    trans = pd.concat([reg, disp, close], ignore_index=True)
    trans["occurred_at"] = trans["occurred_at"].astype("datetime64[us, UTC]")
    con.register("new_trans", trans)
    con.execute(
        "INSERT INTO case_transitions (case_id, from_state, to_state, action, actor, "
        "department, reason, occurred_at) SELECT * FROM new_trans"
    )
    con.unregister("new_trans")
    # notifications: open dispatched cases to their department, undecided ones to the hall
    o = cases[cases["state"].isin([DISPATCHED, HANDLING])]
    hall = cases[cases["needs_decision"]]
    later = svc.calendar.next_working([now])[0]
    note = pd.DataFrame(
        {
            "department": pd.concat(
                [o["department"], pd.Series([svc.rules.hall.id] * len(hall))], ignore_index=True
            ),
            "case_id": pd.concat([o["id"], hall["id"]], ignore_index=True),
            "kind": ["dispatched"] * len(o) + ["needs_decision"] * len(hall),
            "urgent": np.r_[o["urgent"].to_numpy(dtype=bool), np.ones(len(hall), dtype=bool)],
        }
    )
    if len(note):
        note["created_at"] = pd.Series([now] * len(note), dtype="datetime64[us, UTC]")
        at = np.where(note["urgent"], now, later)
        note["deliver_at"] = pd.to_datetime(at, utc=True).astype("datetime64[us, UTC]")
        note["delivered"] = note["deliver_at"] <= now
        note["delivered_at"] = note["created_at"].where(note["delivered"], pd.NaT)
        con.register("new_notes", note)
        con.execute("INSERT INTO notifications BY NAME SELECT * FROM new_notes")
        con.unregister("new_notes")
    return n


def register_unplaced(svc, frame: pd.DataFrame, now: pd.Timestamp | None = None) -> int:
    """Cases for hotline requests that carry no usable location (a canonical frame of mapped
    rows): a 12345 request is a case even when it cannot be put in a grid cell. They sit at city
    level (no cell) and count in department metrics; the events stay in quarantine."""
    now = utc_now(now)
    if not len(frame):
        return 0
    city = svc.db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")[0]
    rows = pd.DataFrame(
        {
            "source": "hotline",
            "source_event_id": frame["id"].astype(str).to_numpy(),
            "category": frame["category"].astype(str).to_numpy(),
            "severity": pd.array(frame["severity"], dtype="Int64"),
            "event_time": frame["time"].to_numpy(),
            "received_at": pd.Series([now] * len(frame), dtype="datetime64[us, UTC]").to_numpy(),
            "cell_key": pd.array([None] * len(frame), dtype="Int32"),
            "community_key": pd.array([None] * len(frame), dtype="Int32"),
            "township_key": pd.array([None] * len(frame), dtype="Int32"),
            "county_key": pd.array([None] * len(frame), dtype="Int32"),
            "city_key": pd.array([city] * len(frame), dtype="Int32"),
            "lon": frame["lon"].to_numpy(dtype="float64"),
            "lat": frame["lat"].to_numpy(dtype="float64"),
            "text": frame["text"].astype("object").to_numpy(),
            "attributes": frame["attributes"].astype("object").to_numpy(),
            "case_id": pd.array([None] * len(frame), dtype="Int64"),
        }
    )
    attr = svc.rules.hotline.department_attribute or "agency"

    def write(con) -> int:
        con.register("unplaced", rows)
        # skip requests that already have a case (a second replay of the same file)
        got = con.execute(
            EVENT_SQL.format(
                relation="unplaced",
                cond="AND 'hotline:' || source_event_id NOT IN "
                "(SELECT origin_ref FROM cases WHERE origin_ref LIKE 'hotline:%')",
            ),
            [attr],
        ).df()
        con.unregister("unplaced")
        return insert_cases(con, svc, got, now)

    return svc.db.write(write)
