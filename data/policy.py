"""One access policy: who may do what to which object, and what each user may see.

Every page, Dash callback, read API route and command asks here; nothing else decides. The
module holds no web framework: a decision depends only on the user record and a :class:`Target`
(what the object is, where it lies, which departments it concerns). The target builders at the
end read those facts from the store, so a caller never has to know the rules.

Default deny: an unknown role, action or target kind, or a missing user, is refused.

Scopes (docs/SECURITY.md has the full role x action x scope table, which a test checks against
:func:`may`):

- ``admin``, ``operator``, ``analyst``, ``wall``: the whole city.
- ``county_leader``: the subtree of one area (``user.area``: a county, township or community
  code; each command level has its own team, all with this role).
- ``grid_worker``: the subtree of one area (``user.area``: a community or a grid cell code).
- ``department``: its own department's cases, and the events and warnings of those cases; no
  area aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data.areas import LEVELS, AreaScope, city_scope, scope_for_code
from data.store import Database

ROLES: tuple[str, ...] = (
    "admin",
    "operator",
    "analyst",
    "wall",
    "county_leader",
    "department",
    "grid_worker",
)
# roles whose scope is one area's subtree (``user.area``)
AREA_ROLES = frozenset({"county_leader", "grid_worker"})
CITY_ROLES = frozenset({"admin", "operator", "analyst", "wall"})
HALL = frozenset({"admin", "operator"})

# the pages (dash.register_page names) and their paths
PAGES: dict[str, str] = {
    "wall": "/",
    "warnings": "/warnings",
    "cases": "/cases",
    "report": "/report",
    "metrics": "/metrics",
    "inspections": "/inspections",
    "audit": "/audit",
    "briefings": "/briefings",
    "figures": "/figures",
    "console": "/console",
    "feeds_new": "/feeds/new",
    "rules": "/rules",
    "search": "/search",
}

# case actions a department takes on its own case; the rest (and "create") are the hall's
DEPARTMENT_CASE_ACTIONS = frozenset({"accept", "return", "request_extension", "report_handled"})
HALL_CASE_ACTIONS = frozenset(
    {
        "create",
        "dispatch",
        "reassign",
        "approve_extension",
        "refuse_extension",
        "verify_pass",
        "rework",
        "close",
        "set_urgent",
        "joint_dispatch",
    }
)
# a leader's instruction (批示): the hall, and a county leader on a case in their own area
LEADER_CASE_ACTIONS = frozenset({"instruct"})
CASE_ACTIONS = DEPARTMENT_CASE_ACTIONS | HALL_CASE_ACTIONS | LEADER_CASE_ACTIONS

ALL = "all"  # any object of the kind
OWN = "own"  # objects inside the user's scope only

# (action, target kind) -> {role: ALL | OWN}; a role not listed is refused. Page rows are keyed
# (action, "page:<name>"); case transitions ("transition", "case:<action>") as below.
_PAGE_ROLES: dict[str, frozenset[str]] = {
    "wall": frozenset({"admin", "operator", "analyst", "wall", "county_leader"}),
    "warnings": frozenset({"admin", "operator", "analyst", "county_leader"}),
    "cases": frozenset({"admin", "operator", "analyst", "county_leader", "department"}),
    "report": frozenset({"admin", "operator", "grid_worker"}),
    "metrics": frozenset({"admin", "operator", "analyst", "county_leader"}),
    # targeted inspection lists: a county leader's list holds their own area only (its scope)
    "inspections": frozenset({"admin", "operator", "analyst", "county_leader"}),
    "audit": frozenset({"admin"}),
    # archived briefings: the list; each file is handed out under ("export", "area")
    "briefings": frozenset({"admin", "operator", "analyst", "county_leader"}),
    "figures": frozenset({"admin", "operator", "analyst", "county_leader"}),
    # the hall's console: what the walls following a channel show (the hall's operators)
    "console": frozenset({"admin", "operator"}),
    # drafting a feed's field mapping from a sample file (it writes a file on the server)
    "feeds_new": frozenset({"admin"}),
    # the warning rules: edit, backtest, save (administrators)
    "rules": frozenset({"admin"}),
    # search over events, cases and warnings: each result list inside the reader's scope
    "search": frozenset({"admin", "operator", "analyst", "county_leader"}),
}
_CITY_READERS = {"admin": ALL, "operator": ALL, "analyst": ALL, "wall": ALL}
RULES: dict[tuple[str, str], dict[str, str]] = {
    **{("view", f"page:{p}"): {r: ALL for r in roles} for p, roles in _PAGE_ROLES.items()},
    # an area's aggregates (map values, counts, summaries)
    ("view", "area"): {**_CITY_READERS, "county_leader": OWN, "grid_worker": OWN},
    ("view", "event"): {
        **_CITY_READERS,
        "county_leader": OWN,
        "grid_worker": OWN,
        "department": OWN,
    },
    ("view", "warning"): {**_CITY_READERS, "county_leader": OWN, "department": OWN},
    ("view", "case"): {
        **_CITY_READERS,
        "county_leader": OWN,
        "department": OWN,
        "grid_worker": OWN,
    },
    # feed health: live/stale per source; totals: counts received; errors: the last error text
    ("view", "feeds:health"): {
        **_CITY_READERS,
        "county_leader": ALL,
        "grid_worker": ALL,
        "department": ALL,
    },
    ("view", "feeds:totals"): {**_CITY_READERS, "county_leader": OWN, "grid_worker": OWN},
    ("view", "feeds:errors"): {"admin": ALL, "operator": ALL},
    ("acknowledge", "warning"): {"admin": ALL, "operator": ALL, "analyst": ALL},
    ("clear", "warning"): {"admin": ALL, "operator": ALL},
    ("dispatch", "warning"): {"admin": ALL, "operator": ALL},
    # run the warning rules now
    ("evaluate", "warnings"): {"admin": ALL, "operator": ALL, "analyst": ALL},
    **{("transition", f"case:{a}"): {"admin": ALL, "operator": ALL} for a in HALL_CASE_ACTIONS},
    **{
        ("transition", f"case:{a}"): {"admin": ALL, "operator": ALL, "department": OWN}
        for a in DEPARTMENT_CASE_ACTIONS
    },
    **{
        ("transition", f"case:{a}"): {"admin": ALL, "operator": ALL, "county_leader": OWN}
        for a in LEADER_CASE_ACTIONS
    },
    # a field report (becomes a case) placed in an area
    ("report", "area"): {"admin": ALL, "operator": ALL, "grid_worker": OWN},
    ("export", "area"): {"admin": ALL, "operator": ALL, "analyst": ALL, "county_leader": OWN},
    ("user_admin", "users"): {"admin": ALL},
    ("audit_view", "audit"): {"admin": ALL},
    # edit, backtest and save the warning rules
    ("rules_edit", "rules"): {"admin": ALL},
}
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(a for a, _ in RULES))
# the target kind an action takes when none is given (an area without a place: the whole city,
# so only roles granted "all" pass, e.g. exporting city-wide figures)
_DEFAULT_KIND = {
    "user_admin": "users",
    "audit_view": "audit",
    "rules_edit": "rules",
    "evaluate": "warnings",
    "export": "area",
    "report": "area",
}


class PolicyDenied(PermissionError):
    """The policy refused an action; the message says who, what and to which object."""


@dataclass(frozen=True)
class Target:
    """What a decision is about.

    ``kind``: page, area, event, warning, case, feeds, users, audit, warnings. ``name``: the page
    name, the case action, or the feeds part (health, totals, errors). ``areas``: the codes of the
    object's area and all its ancestors (empty: city-wide or unplaced). ``departments``: the
    departments the object concerns (a case's department; an event's or warning's cases').
    """

    kind: str
    name: str | None = None
    areas: tuple[str, ...] = ()
    departments: frozenset[str] = field(default_factory=frozenset)

    @property
    def rule_kind(self) -> str:
        """The key of :data:`RULES` this target is decided by."""
        if self.kind in ("page", "case", "feeds") and self.name:
            if self.kind == "case" and self.name == "view":
                return "case"
            return f"{self.kind}:{self.name}"
        return self.kind


@dataclass(frozen=True)
class Scope:
    """What a user may see. ``city``: everything; ``area``: one area code's subtree;
    ``department``: that department's cases (and their events and warnings). All unset: nothing."""

    city: bool = False
    area: str | None = None
    department: str | None = None

    @property
    def nothing(self) -> bool:
        """True when the user may see no object at all."""
        return not (self.city or self.area or self.department)


def page(name: str) -> Target:
    """The target of opening page ``name`` (a key of :data:`PAGES`)."""
    return Target("page", name)


def scope(user) -> Scope:
    """What ``user`` may see (an empty scope for None or an unknown role)."""
    role = getattr(user, "role", None)
    if role in CITY_ROLES:
        return Scope(city=True)
    if role in AREA_ROLES and user.area:
        return Scope(area=str(user.area))
    if role == "department" and user.department:
        return Scope(department=str(user.department))
    return Scope()


def _in_scope(user, target: Target) -> bool:
    s = scope(user)
    if s.city:
        return True
    if s.area:
        return s.area in target.areas
    if s.department:
        return s.department in target.departments
    return False


def may(user, action: str, target: Target | None = None) -> bool:
    """True when ``user`` may do ``action`` to ``target``; False for anything not allowed."""
    role = getattr(user, "role", None)
    if role not in ROLES:
        return False
    if action in CASE_ACTIONS:  # a case action named directly: the transition it is
        target = Target(
            "case",
            action,
            target.areas if target else (),
            target.departments if target else frozenset(),
        )
        action = "transition"
    if target is None:
        kind = _DEFAULT_KIND.get(action)
        if kind is None:
            return False
        target = Target(kind)
    rule = RULES.get((action, target.rule_kind))
    if rule is None:
        return False
    grant = rule.get(role)
    if grant == ALL:
        return True
    if grant == OWN:
        return _in_scope(user, target)
    return False


def may_some(user, action: str, kind: str) -> bool:
    """True when ``user``'s role may do ``action`` to at least some objects of ``kind`` (a key
    kind of :data:`RULES`, e.g. ``"case:accept"``): for offering a button, never for doing."""
    role = getattr(user, "role", None)
    if role not in ROLES:
        return False
    if action in CASE_ACTIONS:
        action, kind = "transition", f"case:{action}"
    return (RULES.get((action, kind)) or {}).get(role) in (ALL, OWN)


def require(user, action: str, target: Target | None = None) -> None:
    """Raise :class:`PolicyDenied` unless ``user`` may do ``action`` to ``target``."""
    if not may(user, action, target):
        who = getattr(user, "username", None) or "nobody"
        role = getattr(user, "role", None)
        what = target.kind if target else "-"
        if target and target.name:
            what += f" {target.name}"
        raise PolicyDenied(f"{who} ({role}) may not {action} {what}")


def saved_requests_owner(user) -> str | None:
    """Whose saved figures requests ``user`` lists, runs and deletes: their own (the user name);
    None for an administrator (everyone's). PolicyDenied for a user who may not open the figures
    page, and so keeps no requests."""
    require(user, "view", page("figures"))
    return None if user.role == "admin" else str(user.username)


# --- users' scopes as the store's area scopes ------------------------------------------------------


# the levels an area role's ``area`` may be: any below the city for the command teams, a
# community or a grid cell for a grid worker
_AREA_LEVELS = {"county_leader": LEVELS[1:], "grid_worker": ("community", "grid")}


def area_scope(db: Database, user) -> AreaScope | None:
    """The area subtree whose aggregates ``user`` may read, or None (departments, nobody).

    Raises :class:`PolicyDenied` when an area role's code is unknown to the store.
    """
    s = scope(user)
    if s.city:
        return city_scope(db)
    if s.area:
        try:
            found = scope_for_code(db, s.area)
        except KeyError as exc:
            raise PolicyDenied(f"unknown area {s.area!r} for {user.username!r}") from exc
        if found.level not in _AREA_LEVELS[user.role]:
            raise PolicyDenied(
                f"{user.role} {user.username!r}: area {s.area!r} is a {found.level}, not one of "
                + ", ".join(_AREA_LEVELS[user.role])
            )
        return found
    return None


# --- targets read from the store ------------------------------------------------------------------

_LINEAGE_COLS = ("city_key", "county_key", "township_key", "community_key")


def _codes(db: Database, where: str, params: list) -> tuple[str, ...]:
    """The codes of an area and its ancestors (the area row selected by ``where``)."""
    row = db.query_one(
        "SELECT a.code, "
        + ", ".join(f"(SELECT code FROM areas x WHERE x.key = a.{c})" for c in _LINEAGE_COLS)
        + f" FROM areas a WHERE {where}",
        params,
    )
    if row is None:
        return ()
    return tuple(dict.fromkeys(c for c in row if c))


def board_department(user, requested: str | None) -> str | None:
    """The department whose case board ``user`` reads: a department user's is always their own
    department, whatever the browser asks; other roles read the one they ``requested``."""
    return user.department if user.role == "department" else requested


def board_scope(db: Database, user, city: AreaScope) -> AreaScope:
    """The area the case board reads for ``user``: their own area; a department's board is its
    department's cases city-wide (``city``; :func:`board_department` forces the department).
    Raises :class:`PolicyDenied` for a user who reads no board."""
    found = area_scope(db, user)
    if found is None and user.role == "department":
        return city
    if found is None:
        raise PolicyDenied(f"{user.username} reads no case board")
    return found


def require_case_action(db: Database, user, action: str, case_id: int | None = None) -> None:
    """The policy's word on a case action: without ``case_id``, whether the role may do it to
    any case at all (department users handle their own cases, the hall does the rest); with it,
    whether the user may do it to that case (its department, its area). Raises PolicyDenied."""
    if case_id is None:
        if not may_some(user, action, f"case:{action}"):
            raise PolicyDenied(f"role {user.role} may not {action}")
        return
    require(user, action, case_target(db, case_id, action))


def area_target(db: Database, *, code: str | None = None, key: int | None = None) -> Target:
    """An area (by public code or key); an unknown area has no place, so only city roles pass."""
    if key is not None:
        return Target("area", areas=_codes(db, "a.key = ?", [int(key)]))
    return Target("area", areas=_codes(db, "a.code = ?", [str(code)]))


def point_target(db: Database, placer, lon: float, lat: float) -> Target:
    """The area target of the grid cell holding (lon, lat) (no place outside the region)."""
    import numpy as np

    keys = placer.place(np.array([float(lon)]), np.array([float(lat)]))
    key = int(keys[0]) if len(keys) else -1
    return area_target(db, key=key) if key >= 0 else Target("area")


def case_target(db: Database, case_id: int, action: str | None = None) -> Target:
    """A case (and the transition ``action`` when given): its area and department(s).

    A joint parent concerns every department of its sub-cases; a sub-case's department also
    concerns its parent.
    """
    row = db.query_one(
        "SELECT area_key, department, parent_id FROM cases WHERE id = ?", [int(case_id)]
    )
    if row is None:
        return Target("case", action, ("<none>",), frozenset())
    depts = {row[1]} if row[1] else set()
    depts |= {
        r[0]
        for r in db.query(
            "SELECT DISTINCT department FROM cases WHERE parent_id = ? AND department IS NOT NULL",
            [int(case_id)],
        )
    }
    areas = _codes(db, "a.key = ?", [int(row[0])]) if row[0] is not None else ()
    return Target("case", action or "view", areas, frozenset(depts))


def warning_target(db: Database, warning_id: int) -> Target:
    """A warning: its area, and the departments of the cases it was dispatched as."""
    row = db.query_one("SELECT area_key FROM warnings WHERE id = ?", [int(warning_id)])
    if row is None:
        return Target("warning", areas=("<none>",))
    depts = {
        r[0]
        for r in db.query(
            "SELECT DISTINCT department FROM cases WHERE origin = 'warning' AND origin_ref = ? "
            "AND department IS NOT NULL",
            [str(int(warning_id))],
        )
    }
    return Target(
        "warning", areas=_codes(db, "a.key = ?", [int(row[0])]), departments=frozenset(depts)
    )


def department_case_sql() -> str:
    """SQL selecting the case ids a department works (its cases and their joint parents), for
    ``<col> IN (...)``; one parameter, twice: the department id."""
    return (
        "SELECT id FROM cases WHERE department = ? UNION "
        "SELECT parent_id FROM cases WHERE department = ? AND parent_id IS NOT NULL"
    )
