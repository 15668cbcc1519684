"""Cases: creation, the state machine and board queries (notifications: data/cases/notices.py).

States (docs/CASES.md): registered (立案) -> dispatched (派遣) -> handling (处置, on signing) ->
verification (核查) -> closed (结案); returned (退单) sends a case back to the hall with a reason;
reassign (改派) re-dispatches it; a failed check is rework (返工, back to handling); an extension
(延期) is requested by the department and approved or refused by the hall. Joint dispatch splits a
case into sub-cases, one per department; the parent closes when every sub-case has.

Every change runs on the store's single writer inside one transaction, records who, when and why
in ``case_transitions``, and raises :class:`InvalidTransition` (nothing written) when not allowed.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from data import audit
from data.areas import LEVEL_COLUMN, AreaScope
from data.cases.calendar import WorkCalendar
from data.cases.notices import BREAK_THROUGH, CaseNotices, NoticeDeliverer
from data.cases.responsibility import Responsibilities
from data.cases.states import (  # noqa: F401 (the table, re-exported for callers)
    ACTIONS,
    DEPARTMENT_ACTIONS,
    OPEN_STATES,
    REASON_REQUIRED,
    STATES,
)
from data.store import Database
from data.times import to_py, utc_now

log = logging.getLogger(__name__)

ORIGINS: tuple[str, ...] = ("warning", "hotline", "grid_report", "operator")
URGENCIES: tuple[str, ...] = ("urgent", "normal", "complex")
WARNING_COLOURS = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
LEVEL_KEYS = ("city_key", "county_key", "township_key", "community_key", "cell_key")


class InvalidTransition(ValueError):
    """The action is not allowed on the case in its current state (or by this department)."""


class CaseNotFound(KeyError):
    """No case with that id."""


_REGISTRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class CaseService(CaseNotices):
    """Cases on one store. ``rules``: the responsibility list; ``calendar``: working time;
    ``place(lon, lat) -> cell key or None``: puts a point in its grid cell (the pipeline's placer)."""

    def __init__(
        self,
        db: Database,
        rules: Responsibilities,
        calendar: WorkCalendar,
        *,
        place: Callable[[float, float], int | None] | None = None,
        webhook_url: str | None = None,
        webhook_timeout_s: float = 3.0,
        deliver_interval_s: float = 10.0,
        webhook_retry_max_s: float = 600.0,
    ) -> None:
        self.db = db
        self.rules = rules
        self.calendar = calendar
        self.place = place
        self.webhook_url = webhook_url
        self.webhook_timeout_s = webhook_timeout_s
        self._mark: pd.Timestamp | None = None  # received_at already scanned for hotline cases
        # releases held notices and posts the outbox after commit (the runtime starts it)
        self.deliverer = NoticeDeliverer(
            self, interval_s=deliver_interval_s, retry_max_s=webhook_retry_max_s
        )
        _REGISTRY[db] = self

    @classmethod
    def for_runtime(cls, rt) -> CaseService:
        """The service of a :class:`data.runtime.Runtime`, listening for new hotline events."""
        s = rt.settings
        rules = Responsibilities.for_region(s.responsibilities, rt.region, db=rt.db)
        calendar = WorkCalendar.from_settings(s, rt.timezone)
        placer = rt.pipeline.placer

        def place(lon: float, lat: float) -> int | None:
            from data.placement import OUTSIDE

            cell = int(placer.place(np.array([float(lon)]), np.array([float(lat)]))[0])
            return None if cell == OUTSIDE else cell

        svc = cls(
            rt.db,
            rules,
            calendar,
            place=place,
            webhook_url=s.case_webhook_url,
            webhook_timeout_s=s.case_webhook_timeout_s,
            deliver_interval_s=s.case_deliver_interval_s,
            webhook_retry_max_s=s.case_webhook_retry_max_s,
        )
        if s.cases_from_hotline:
            rt.pipeline.add_insert_hook(svc.intake_rows, prepare=svc.prepare_intake)
        return svc

    @staticmethod
    def for_db(db: Database) -> CaseService:
        """The service registered for ``db`` (one with the default list and UTC calendar if none)."""
        svc = _REGISTRY.get(db)
        if svc is None:
            svc = CaseService(db, Responsibilities.load(db=db), WorkCalendar())
        return svc

    # --------------------------------------------------------------------------- reading

    def get(self, case_id: int) -> dict:
        """One case as a dict; :class:`CaseNotFound` when there is none."""
        df = self.db.query_df("SELECT * FROM cases WHERE id = ?", [int(case_id)])
        if not len(df):
            raise CaseNotFound(f"no case {case_id}")
        return _record(df.iloc[0])

    def transitions(self, case_id: int) -> pd.DataFrame:
        """A case's history, oldest first."""
        return self.db.query_df(
            "SELECT * FROM case_transitions WHERE case_id = ? ORDER BY occurred_at, id",
            [int(case_id)],
        )

    def sub_cases(self, case_id: int) -> pd.DataFrame:
        return self.db.query_df("SELECT * FROM cases WHERE parent_id = ? ORDER BY id", [case_id])

    def board(
        self,
        department: str | None,
        scope: AreaScope,
        *,
        states: Iterable[str] | None = None,
        include_closed: bool = False,
        limit: int = 500,
        now: pd.Timestamp | None = None,
        since: pd.Timestamp | None = None,
        until: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """The cases a department works on inside ``scope``, most pressing first.

        ``department`` = the hall's id gives the hall's board: cases needing a decision, returned,
        waiting for verification or with an extension request, plus its own cases.
        ``department`` None gives every case in scope.

        With ``since``/``until`` (UTC, half-open): the cases created then, every state, joint
        ones too, ``department = ?`` even for the hall (as /api/cases lists them)."""
        now = utc_now(now)
        where, params = _scope_sql(scope)
        conds = [where]
        period = since is not None or until is not None
        for op, bound in ((">=", since), ("<", until)):
            conds += [f"created_at {op} ?"] if bound is not None else []
            params += [to_py(bound)] if bound is not None else []
        if department == self.rules.hall.id and not period:
            conds.append(
                "(department = ? OR needs_decision OR state IN ('registered', 'returned', "
                "'verification') OR extension_until IS NOT NULL)"
            )
            params.append(department)
        elif department is not None:
            conds.append("department = ?")
            params.append(department)
        if states:
            st = list(states)
            conds.append(f"state IN ({','.join('?' * len(st))})")
            params += st
        elif not include_closed and not period:
            conds.append("state <> 'closed'")
        if not period:
            conds.append("NOT joint")
        sql = f"""
            SELECT id, parent_id, state, category, title, department, urgency, urgent,
                   warning_level, needs_decision, origin, created_at, dispatched_at, deadline_at,
                   extension_until, returns, reassignments, reworks, extensions, county_key,
                   cell_key, closed_at, updated_at,
                   closed_at IS NULL AND deadline_at < ? AS overdue
            FROM cases WHERE {" AND ".join(conds)}
            ORDER BY overdue DESC, urgent DESC, deadline_at NULLS LAST, id
            LIMIT {int(limit)}
        """
        return self.db.query_df(sql, [to_py(now), *params])

    # --------------------------------------------------------------------------- creating

    def create(
        self,
        category: str,
        *,
        origin: str = "operator",
        actor: str = "operator",
        title: str | None = None,
        description: str | None = None,
        area_key: int | None = None,
        lon: float | None = None,
        lat: float | None = None,
        urgency: str = "normal",
        warning_level: str | None = None,
        origin_ref: str | None = None,
        dispatch: bool = True,
        categories: Iterable[str] = (),
        now: pd.Timestamp | None = None,
    ) -> int:
        """Register a case and, when ``dispatch`` and the list knows the category, dispatch it.

        The area is ``area_key`` (any level) or the cell holding ``lon``/``lat``. ``categories``:
        further categories to route by when ``category`` has no rule (a warning's event
        categories). Returns the case id. A category outside the list is registered with
        ``needs_decision`` and the hall is notified.
        """
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, not {origin!r}")
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}, not {urgency!r}")
        now = utc_now(now)
        if area_key is None and lon is not None and lat is not None and self.place is not None:
            area_key = self.place(lon, lat)
            if area_key is None:
                raise ValueError(f"({lon}, {lat}) lies outside the region")
        keys = self._area_keys(area_key)
        by_level = {lvl: keys.get(col) for lvl, col in LEVEL_COLUMN.items()}
        route = None
        for cat in [category, *categories]:
            r = self.rules.route(cat, by_level)
            if not r.needs_decision:
                route = r
                break
        urgent = urgency == "urgent" or warning_level in BREAK_THROUGH
        address = audit.current_address()  # read here: the write runs on the writer thread

        def write(con) -> int:
            case_id = int(con.execute("SELECT nextval('cases_seq')").fetchall()[0][0])
            con.execute(
                """
                INSERT INTO cases (id, origin, origin_ref, category, area_key, area_level,
                    cell_key, community_key, township_key, county_key, city_key, lon, lat,
                    title, description, urgency, urgent, warning_level, needs_decision, state,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'registered', ?, ?)
                """,
                [
                    case_id,
                    origin,
                    origin_ref,
                    category,
                    keys.get("area_key"),
                    keys.get("area_level"),
                    keys.get("cell_key"),
                    keys.get("community_key"),
                    keys.get("township_key"),
                    keys.get("county_key"),
                    keys.get("city_key"),
                    lon,
                    lat,
                    title,
                    description,
                    "urgent" if urgent else urgency,
                    urgent,
                    warning_level,
                    route is None,
                    to_py(now),
                    to_py(now),
                ],
            )
            self._log(con, case_id, None, "registered", "register", actor, None, None, now)
            audit.record_con(
                con,
                actor,
                "case.register",
                object_type="case",
                object_id=case_id,
                address=address,
                detail={"origin": origin, "category": category},
                at=now,
            )
            case = self._read(con, case_id)
            if route is None:
                self._notify(con, self.rules.hall.id, case_id, "needs_decision", True, now)
            elif dispatch:
                self._do(
                    con, case, "dispatch", "system", route.department, "responsibility list", now
                )
            return case_id

        return self.db.write(write)

    def from_warning(self, warning: dict, *, actor: str = "system", now=None) -> int:
        """A case for a warning (idempotent: the warning's existing case id when it has one).

        ``warning``: a ``warnings`` row as a dict: ``id``, ``rule_id``, ``kind``, ``area_key``,
        ``level_rank`` (1 blue .. 4 red) or ``level`` (colour); optional ``category``
        (``"<source>.<category>"`` or a list of them), ``title``.
        """
        ref = str(warning["id"])
        row = self.db.query_one(
            "SELECT id FROM cases WHERE origin = 'warning' AND origin_ref = ?", [ref]
        )
        if row is not None:
            return int(row[0])
        colour = warning.get("level") or WARNING_COLOURS.get(int(warning.get("level_rank") or 0))
        rule = warning.get("rule_id") or warning.get("rule") or "unknown"
        cats = warning.get("category") or []
        cats = [cats] if isinstance(cats, str) else list(cats)
        more = ([f"warning.{warning['kind']}"] if warning.get("kind") else []) + cats
        return self.create(
            f"warning.{rule}",
            origin="warning",
            origin_ref=ref,
            actor=actor,
            title=warning.get("title") or f"{rule} ({colour})",
            area_key=warning.get("area_key"),
            warning_level=colour,
            urgency="urgent" if colour in BREAK_THROUGH else "normal",
            categories=more,
            now=now,
        )

    # --------------------------------------------------------------------------- acting

    def act(
        self,
        case_id: int,
        action: str,
        *,
        actor: str,
        department: str | None = None,
        reason: str | None = None,
        extension: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> dict:
        """Apply ``action`` to a case; returns the case after it.

        ``department``: for department actions, the department acting (must own the case); for
        dispatch / reassign, the target department. ``extension``: for request_extension, how
        much more time (``"2wd"``, ``"24h"``). Raises :class:`InvalidTransition`.
        """
        if action not in ACTIONS or action == "joint_dispatch":
            raise InvalidTransition(f"unknown action {action!r}")
        now = utc_now(now)
        address = audit.current_address()

        def write(con) -> dict:
            case = self._read(con, case_id)
            self._do(con, case, action, actor, department, reason, now, extension=extension)
            after = self._read(con, case_id)
            audit.record_con(
                con,
                actor,
                f"case.{action}",
                object_type="case",
                object_id=case_id,
                address=address,
                at=now,
                detail={
                    "from": case["state"],
                    "to": after["state"],
                    "department": department,
                    "reason": reason,
                },
            )
            return after

        return self.db.write(write)

    # convenience wrappers with the vocabulary of the domain
    def dispatch(self, case_id, department=None, *, actor, reason=None, now=None) -> dict:
        return self.act(
            case_id, "dispatch", actor=actor, department=department, reason=reason, now=now
        )

    def accept(self, case_id, department, *, actor, now=None) -> dict:
        return self.act(case_id, "accept", actor=actor, department=department, now=now)

    def hand_back(self, case_id, department, reason, *, actor, now=None) -> dict:
        return self.act(
            case_id, "return", actor=actor, department=department, reason=reason, now=now
        )

    def reassign(self, case_id, department, reason, *, actor, now=None) -> dict:
        return self.act(
            case_id, "reassign", actor=actor, department=department, reason=reason, now=now
        )

    def report_handled(self, case_id, department, *, actor, reason=None, now=None) -> dict:
        return self.act(
            case_id, "report_handled", actor=actor, department=department, reason=reason, now=now
        )

    def verify(self, case_id, passed: bool, *, actor, reason=None, now=None) -> dict:
        return self.act(
            case_id, "verify_pass" if passed else "rework", actor=actor, reason=reason, now=now
        )

    def request_extension(self, case_id, department, extension, reason, *, actor, now=None):
        return self.act(
            case_id,
            "request_extension",
            actor=actor,
            department=department,
            reason=reason,
            extension=extension,
            now=now,
        )

    def decide_extension(self, case_id, approve: bool, *, actor, reason=None, now=None):
        return self.act(
            case_id,
            "approve_extension" if approve else "refuse_extension",
            actor=actor,
            reason=reason,
            now=now,
        )

    def close(self, case_id, reason, *, actor, now=None) -> dict:
        return self.act(case_id, "close", actor=actor, reason=reason, now=now)

    def set_urgent(self, case_id, reason, *, actor, now=None) -> dict:
        return self.act(case_id, "set_urgent", actor=actor, reason=reason, now=now)

    def instruct(self, case_id, text, *, actor, now=None) -> dict:
        """A leader's instruction (批示) on an open case: kept in its history, sent to the
        department handling it."""
        return self.act(case_id, "instruct", actor=actor, reason=text, now=now)

    def joint_dispatch(
        self,
        case_id: int,
        departments: Iterable[str],
        *,
        actor: str,
        reason: str | None = None,
        now: pd.Timestamp | None = None,
    ) -> list[int]:
        """Split a case into one sub-case per department (at least two); returns their ids."""
        depts = list(dict.fromkeys(departments))
        if len(depts) < 2:
            raise InvalidTransition("joint dispatch needs at least two departments")
        now = utc_now(now)
        address = audit.current_address()

        def write(con) -> list[int]:
            case = self._read(con, case_id)
            self._check(case, "joint_dispatch", None)
            ids = []
            for dept in depts:
                sub = int(con.execute("SELECT nextval('cases_seq')").fetchall()[0][0])
                con.execute(
                    """
                    INSERT INTO cases (id, parent_id, origin, origin_ref, category, area_key,
                        area_level, cell_key, community_key, township_key, county_key, city_key,
                        lon, lat, title, description, urgency, urgent, warning_level, state,
                        created_at, updated_at)
                    SELECT ?, id, origin, origin_ref, category, area_key, area_level, cell_key,
                        community_key, township_key, county_key, city_key, lon, lat, title,
                        description, urgency, urgent, warning_level, 'registered', created_at, ?
                    FROM cases WHERE id = ?
                    """,
                    [sub, to_py(now), case_id],
                )
                self._log(
                    con,
                    sub,
                    None,
                    "registered",
                    "register",
                    actor,
                    None,
                    f"sub-case of {case_id}",
                    now,
                )
                self._do(con, self._read(con, sub), "dispatch", actor, dept, reason, now)
                ids.append(sub)
            con.execute(
                "UPDATE cases SET joint = true, state = 'dispatched', needs_decision = false, "
                "dispatched_at = coalesce(dispatched_at, ?), updated_at = ? WHERE id = ?",
                [to_py(now), to_py(now), case_id],
            )
            self._log(
                con,
                case_id,
                case["state"],
                "dispatched",
                "joint_dispatch",
                actor,
                ",".join(depts),
                reason,
                now,
            )
            audit.record_con(
                con,
                actor,
                "case.joint_dispatch",
                object_type="case",
                object_id=case_id,
                address=address,
                at=now,
                detail={"departments": depts, "sub_cases": ids, "reason": reason},
            )
            return ids

        return self.db.write(write)

    # --------------------------------------------------------------------------- internals

    def _read(self, con, case_id: int) -> dict:
        cur = con.execute("SELECT * FROM cases WHERE id = ?", [int(case_id)])
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
        if not rows:
            raise CaseNotFound(f"no case {case_id}")
        return dict(zip(cols, rows[0], strict=True))

    def _check(self, case: dict, action: str, department: str | None) -> None:
        allowed, _to = ACTIONS[action]
        if case["joint"] and action != "set_urgent":
            raise InvalidTransition(
                f"case {case['id']} is a joint case: act on its sub-cases instead"
            )
        if case["state"] not in allowed:
            raise InvalidTransition(
                f"cannot {action} case {case['id']}: it is {case['state']} "
                f"(allowed from {', '.join(sorted(allowed))})"
            )
        if action in DEPARTMENT_ACTIONS and department != case["department"]:
            raise InvalidTransition(
                f"case {case['id']} belongs to {case['department'] or 'no department'}, "
                f"not {department or 'nobody'}: only its department may {action}"
            )

    def _do(self, con, case, action, actor, department, reason, now, *, extension=None) -> None:
        """Validate and apply one action inside the writer's transaction."""
        self._check(case, action, department)
        if action in REASON_REQUIRED and not (reason and str(reason).strip()):
            raise InvalidTransition(f"{action} needs a reason")
        if not actor:
            raise InvalidTransition("every action needs an actor")
        _allowed, to = ACTIONS[action]
        to = to or case["state"]
        cid = case["id"]
        sets: dict[str, Any] = {}
        note_dept = case["department"]
        hall = self.rules.hall.id
        if action in ("dispatch", "reassign"):
            target = department
            if action == "dispatch" and target is None:
                by_level = {lvl: case.get(col) for lvl, col in LEVEL_COLUMN.items()}
                target = self.rules.route(case["category"], by_level).department
            if target is None:
                raise InvalidTransition(
                    f"case {cid}: category {case['category']} is outside the responsibility "
                    "list; choose the department"
                )
            if target not in self.rules.departments and not self._known_department(con, target):
                raise InvalidTransition(f"unknown department {target!r}")
            if action == "reassign" and target == case["department"]:
                raise InvalidTransition(f"case {cid} is already with {target}")
            limit = self.rules.deadline_for(target, case["category"], case["urgency"])
            sets.update(
                department=target,
                dept_level=getattr(self.rules.departments.get(target), "level", None),
                needs_decision=False,
                dispatched_at=case["dispatched_at"] or now,
                # the clock starts at (re-)dispatch: the new department gets its full time
                deadline_at=self.calendar.add([now], limit)[0],
                extension_until=None,
            )
            if action == "reassign":
                sets["reassignments"] = case["reassignments"] + 1
                if case["department"]:
                    self._notify(con, case["department"], cid, "withdrawn", False, now, case)
            note_dept = target
            self._notify(con, target, cid, "dispatched", bool(case["urgent"]), now, case)
        elif action == "accept":
            sets["accepted_at"] = case["accepted_at"] or now
        elif action == "return":
            sets.update(
                returns=case["returns"] + 1, department=None, dept_level=None, extension_until=None
            )
            self._notify(con, hall, cid, "returned", True, now)
        elif action == "request_extension":
            if case["extension_until"] is not None:
                raise InvalidTransition(f"case {cid} already has an extension request pending")
            base = case["deadline_at"] or now
            sets["extension_until"] = self.calendar.add([base], extension or "1wd")[0]
            self._notify(con, hall, cid, "extension_requested", True, now)
        elif action in ("approve_extension", "refuse_extension"):
            if case["extension_until"] is None:
                raise InvalidTransition(f"case {cid} has no extension request")
            if action == "approve_extension":
                sets.update(deadline_at=case["extension_until"], extensions=case["extensions"] + 1)
            sets["extension_until"] = None
            kind = "extension_approved" if action == "approve_extension" else "extension_refused"
            self._notify(con, case["department"], cid, kind, bool(case["urgent"]), now, case)
        elif action == "report_handled":
            sets["handled_at"] = now
            self._notify(con, hall, cid, "to_verify", True, now)
        elif action == "rework":
            sets["reworks"] = case["reworks"] + 1
            self._notify(con, case["department"], cid, "rework", bool(case["urgent"]), now, case)
        elif action in ("verify_pass", "close"):
            sets.update(closed_at=now, extension_until=None)
        elif action == "instruct":
            # the instruction is the transition's reason; the department handling the case (the
            # hall while none does) is told at once, whatever the hour
            self._notify(con, case["department"] or hall, cid, "instruction", True, now, case)
        elif action == "set_urgent":
            if case["urgent"]:
                raise InvalidTransition(f"case {cid} is already urgent")
            sets.update(urgent=True, urgency="urgent")
            if case["department"] and case["dispatched_at"] is not None:
                limit = self.rules.deadline_for(case["department"], case["category"], "urgent")
                new = self.calendar.add([now], limit)[0]
                old = case["deadline_at"]
                sets["deadline_at"] = new if old is None or new < pd.Timestamp(old) else old
                self._notify(con, case["department"], cid, "urgent", True, now, case)
        sets["state"] = to
        sets["updated_at"] = now
        cols = list(sets)
        con.execute(
            f"UPDATE cases SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
            [to_py(v) if isinstance(v, pd.Timestamp) else v for v in sets.values()] + [cid],
        )
        self._log(
            con,
            cid,
            case["state"],
            to,
            action,
            actor,
            department if action in DEPARTMENT_ACTIONS else note_dept,
            reason,
            now,
        )
        if to == "closed" and case["parent_id"] is not None:
            self._close_parent(con, case["parent_id"], now)

    def _close_parent(self, con, parent_id: int, now) -> None:
        open_left = con.execute(
            "SELECT count(*) FROM cases WHERE parent_id = ? AND state <> 'closed'", [parent_id]
        ).fetchall()[0][0]
        if open_left:
            return
        parent = self._read(con, parent_id)
        if parent["state"] == "closed":
            return
        con.execute(
            "UPDATE cases SET state = 'closed', closed_at = ?, updated_at = ? WHERE id = ?",
            [to_py(now), to_py(now), parent_id],
        )
        self._log(
            con,
            parent_id,
            parent["state"],
            "closed",
            "close",
            "system",
            None,
            "all sub-cases closed",
            now,
        )

    @staticmethod
    def _known_department(con, dept: str) -> bool:
        """Departments outside the list that already own cases (a publisher's agencies)."""
        return bool(
            con.execute("SELECT 1 FROM cases WHERE department = ? LIMIT 1", [dept]).fetchall()
        )

    @staticmethod
    def _log(con, case_id, from_state, to_state, action, actor, department, reason, at) -> None:
        con.execute(
            "INSERT INTO case_transitions (case_id, from_state, to_state, action, actor, "
            "department, reason, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [case_id, from_state, to_state, action, actor, department, reason, to_py(at)],
        )

    def _area_keys(self, area_key: int | None) -> dict:
        if area_key is None:  # no place given: the whole region (the city)
            row = self.db.query_one("SELECT key FROM areas WHERE level = 'city' LIMIT 1")
            if row is None:
                return {}
            area_key = row[0]
        row = self.db.query_one(
            "SELECT key, level, city_key, county_key, township_key, community_key FROM areas "
            "WHERE key = ?",
            [int(area_key)],
        )
        if row is None:
            raise ValueError(f"no area with key {area_key}")
        key, level, city, county, township, community = row
        out = {
            "area_key": key,
            "area_level": level,
            "city_key": city,
            "county_key": county,
            "township_key": township,
            "community_key": community,
        }
        out[LEVEL_COLUMN[level]] = key
        depth = list(LEVEL_COLUMN).index(level)
        for lvl in list(LEVEL_COLUMN)[depth + 1 :]:
            out[LEVEL_COLUMN[lvl]] = None
        return out

    # --------------------------------------------------------------------------- 12345 intake

    def intake_rows(self, con, events: pa.Table, prepared=()) -> pa.Table:
        """Pipeline insert hook: the group's new hotline events become cases in the same
        transaction and go into the store with their case ids (``intake.take_in_rows``);
        ``prepared``: :meth:`prepare_intake`'s cases of the group's batches."""
        from data.cases import intake

        return intake.take_in_rows(con, self, events, prepared)

    def prepare_intake(self, source: str, events: pa.Table, now: pd.Timestamp):
        """Pipeline prepare hook: a bulk batch's hotline cases (``intake.prepare_rows``)."""
        from data.cases import intake

        if source == "hotline":
            return intake.prepare_rows(self.db.cursor(), self, events, now)
        return None

    def intake_hotline(self, now: pd.Timestamp | None = None) -> int:
        """Make a case of every hotline event without one (bulk SQL); returns how many."""
        from data.cases import intake

        now = utc_now(now)

        def write(con) -> int:
            if self._mark is None:
                # the mark is kept in the store: a restart scans only the last day, not every
                # event ever stored (issue 8: restart time)
                row = con.execute("SELECT value FROM meta WHERE key = ?", [MARK_KEY]).fetchall()
                self._mark = pd.Timestamp(row[0][0]) if row else None
            since = None if self._mark is None else to_py(self._mark - pd.Timedelta(days=1))
            cond, params = (
                ("", {}) if since is None else ("AND received_at >= $since", {"since": since})
            )
            n, latest = intake.take_in(con, self, now, cond=cond, params=params)
            if latest is not None:
                mark = pd.Timestamp(latest)
                self._mark = mark if self._mark is None else max(self._mark, mark)
            elif self._mark is None:
                self._mark = now
            con.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [MARK_KEY, self._mark.isoformat()],
            )
            return n

        return self.db.write(write)


# meta key of the received_at up to which hotline events were scanned for cases
MARK_KEY = "hotline_intake_mark"


def _scope_sql(scope: AreaScope) -> tuple[str, list]:
    sql, params = scope.where()
    return sql, params


def _record(row: pd.Series) -> dict:
    out = {}
    for k, v in row.items():
        if (
            isinstance(v, float)
            and np.isnan(v)
            or v is pd.NaT
            or (not isinstance(v, str | list | dict) and pd.isna(v))
        ):
            out[k] = None
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def case_from_warning(db: Database, warning_row: dict, *, actor: str = "system", now=None) -> int:
    """Adapter for the warnings engine: the case of a ``warnings`` row (created on first call).

    ``warning_row``: a dict with ``id``, ``rule_id``, ``kind``, ``area_key``, ``level_rank`` (or
    ``level`` colour), optionally ``category`` and ``title``. Orange and red cases are urgent.
    """
    return CaseService.for_db(db).from_warning(dict(warning_row), actor=actor, now=now)
