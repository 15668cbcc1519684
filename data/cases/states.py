"""The case state machine, in one table: the service acts by it, the bulk intake and the
simulated departments derive their states from it (docs/CASES.md).

States: registered (立案) -> dispatched (派遣) -> handling (处置, on signing) -> verification (核查)
-> closed (结案); returned (退单) sends a case back to the hall with a reason; reassign (改派)
re-dispatches it; a failed check is rework (返工, back to handling).
"""

from __future__ import annotations

STATES: tuple[str, ...] = (
    "registered",
    "dispatched",
    "handling",
    "verification",
    "closed",
    "returned",
)
OPEN_STATES = frozenset(STATES) - {"closed"}
INITIAL = "registered"  # every case starts here (the "register" transition)

# action -> (states it may start from, state it leads to; None = unchanged)
ACTIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "dispatch": (frozenset({"registered", "returned"}), "dispatched"),
    "joint_dispatch": (frozenset({"registered", "returned"}), "dispatched"),
    "accept": (frozenset({"dispatched"}), "handling"),
    "return": (frozenset({"dispatched", "handling"}), "returned"),
    "reassign": (frozenset({"dispatched", "handling", "returned"}), "dispatched"),
    "request_extension": (frozenset({"handling"}), None),
    "approve_extension": (frozenset({"handling", "verification"}), None),
    "refuse_extension": (frozenset({"handling", "verification"}), None),
    "report_handled": (frozenset({"handling"}), "verification"),
    "verify_pass": (frozenset({"verification"}), "closed"),
    "rework": (frozenset({"verification"}), "handling"),
    "close": (frozenset({"registered", "returned", "verification"}), "closed"),
    "set_urgent": (frozenset(OPEN_STATES), None),
    # a leader's instruction (批示) on an open case: the text reaches the handling department
    "instruct": (frozenset(OPEN_STATES), None),
}
# actions a department takes on its own case (the rest are the hall's)
DEPARTMENT_ACTIONS = frozenset({"accept", "return", "request_extension", "report_handled"})
REASON_REQUIRED = frozenset(
    {
        "return",
        "reassign",
        "request_extension",
        "refuse_extension",
        "rework",
        "close",
        "set_urgent",
        "instruct",
    }
)
# A publisher's own history (a replayed 311 file) records cases closed while dispatched or being
# handled: the intake imports that close as it happened, outside the hall's actions above.
IMPORTED_CLOSE_FROM = frozenset({"dispatched", "handling"})


def allowed(action: str, state: str) -> bool:
    """Whether ``action`` may be taken on a case in ``state``."""
    return action in ACTIONS and state in ACTIONS[action][0]


def after(action: str, state: str) -> str:
    """The state a case in ``state`` is in after ``action`` (ValueError when not allowed)."""
    if not allowed(action, state):
        raise ValueError(f"{action!r} is not allowed in state {state!r}")
    to = ACTIONS[action][1]
    return state if to is None else to


def sql_after(action_col: str, state_col: str, actions: tuple[str, ...]) -> str:
    """SQL ``CASE`` giving the state after each of ``actions`` (the column ``action_col``),
    derived from :data:`ACTIONS`; unchanged-state actions keep ``state_col``."""
    arms = []
    for a in actions:
        to = ACTIONS[a][1]
        arms.append(f"WHEN '{a}' THEN " + (state_col if to is None else f"'{to}'"))
    return f"CASE {action_col} " + " ".join(arms) + " END"
