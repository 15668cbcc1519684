"""docs/SECURITY.md's role x action x scope table against the policy code, both directions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data import policy
from data.auth import User

DOC = Path(__file__).resolve().parents[1] / "docs" / "SECURITY.md"
# one user per role: area roles in county C1 (township C1T1 for the grid worker), department D1
USERS = {
    "admin": User("a", "admin"),
    "operator": User("o", "operator"),
    "analyst": User("n", "analyst"),
    "wall": User("w", "wall"),
    "county_leader": User("l", "county_leader", area="C1"),
    "department": User("d", "department", department="D1"),
    "grid_worker": User("g", "grid_worker", area="C1T1"),
}
INSIDE = ("CITY", "C1", "C1T1", "C1T1M1")  # a community inside every area role's scope
OUTSIDE = ("CITY", "C2", "C2T1")


def table() -> dict[tuple[str, str], dict[str, str]]:
    """The table's cells: (action, target) -> {role: all | own | —}."""
    lines = [ln for ln in DOC.read_text(encoding="utf-8").splitlines() if ln.startswith("| `")]
    head = next(
        ln for ln in DOC.read_text(encoding="utf-8").splitlines() if ln.startswith("| action |")
    )
    roles = re.findall(r"`([a-z_]+)`", head)
    out = {}
    for ln in lines:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != 2 + len(roles):
            continue
        action, kind = cells[0].strip("`"), cells[1].strip("`")
        out[(action, kind)] = dict(zip(roles, cells[2:], strict=True))
    return out


def target(kind: str, inside: bool) -> policy.Target:
    """A representative object of ``kind`` inside (or outside) every scoped role's scope."""
    base, _, name = kind.partition(":")
    return policy.Target(
        base,
        name or None,
        INSIDE if inside else OUTSIDE,
        frozenset({"D1"} if inside else {"D2"}),
    )


def test_table_lists_every_role_and_rule():
    rows = table()
    assert set(rows) == set(policy.RULES), "table rows and policy rules differ"
    for cells in rows.values():
        assert set(cells) == set(policy.ROLES)


@pytest.mark.parametrize("key", sorted(policy.RULES))
def test_every_cell_equals_the_policy(key):
    action, kind = key
    cells = table()[key]
    for role, user in USERS.items():
        expected = cells[role]
        got = (
            policy.may(user, action, target(kind, True)),
            policy.may(user, action, target(kind, False)),
        )
        want = {"all": (True, True), "own": (True, False), "—": (False, False)}[expected]
        assert got == want, f"{action} {kind} as {role}: table says {expected}, code {got}"


def test_default_deny():
    admin = USERS["admin"]
    assert not policy.may(admin, "launch_missiles")
    assert not policy.may(admin, "view", policy.Target("nothing"))
    assert not policy.may(None, "view", policy.page("wall"))
    assert not policy.may(User("x", "king"), "view", policy.page("wall"))
    with pytest.raises(PermissionError):
        policy.require(USERS["wall"], "clear", target("warning", True))
    assert policy.may(admin, "audit_view") and not policy.may(USERS["operator"], "audit_view")
    assert policy.may(admin, "user_admin") and not policy.may(USERS["analyst"], "user_admin")
    # without a target, export means the whole city: city roles that export, not area roles
    assert policy.may(USERS["analyst"], "export")
    assert not policy.may(USERS["county_leader"], "export")
    assert policy.may(USERS["county_leader"], "export", target("area", True))
