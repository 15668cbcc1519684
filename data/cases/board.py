"""What the case board (page ``/cases``) reads and decides, as plain values: which departments it
offers and which department an action on a case is taken as. The page's callbacks call these;
display names come from the responsibility list and the translation tables."""

from __future__ import annotations

from data.areas import AreaScope
from data.cases.responsibility import Responsibilities
from data.cases.states import DEPARTMENT_ACTIONS
from data.store import Database


def departments_owning_cases(db: Database, scope: AreaScope | None = None) -> list[str]:
    """Departments that own at least one case, inside ``scope`` below the city (all of them for
    ``None`` or the city), sorted."""
    cond, params = ("true", []) if scope is None or scope.level == "city" else scope.where()
    sql = (
        f"SELECT DISTINCT department FROM cases WHERE department IS NOT NULL AND {cond} ORDER BY 1"
    )
    return [r[0] for r in db.query(sql, params)]


def department_choices(
    db: Database,
    rules: Responsibilities,
    *,
    with_hall: bool = True,
    scope: AreaScope | None = None,
) -> list[str]:
    """Departments of the responsibility list plus those already owning cases, in list order.

    ``scope``: below the city, only city-level departments and those owning cases inside it
    (another county's own bureaus are not shown to a county's team). ``with_hall=False`` leaves
    out the command hall (dispatch targets).
    """
    ids_ = list(rules.departments)
    if not with_hall:
        ids_.remove(rules.hall.id)
    extra = departments_owning_cases(db, scope)
    if scope is not None and scope.level != "city":
        ids_ = [d for d in ids_ if rules.departments[d].level == "city" or d in extra]
    return ids_ + [d for d in extra if d not in ids_]


def acting_department(action: str, board_department: str | None, targets: list[str]) -> str | None:
    """The department an action on a case names: the board's own department for the actions a
    department takes on its own case (accept, return, ...); the first chosen target otherwise
    (dispatch, reassign), or none."""
    if action in DEPARTMENT_ACTIONS:
        return board_department
    return targets[0] if targets else None
