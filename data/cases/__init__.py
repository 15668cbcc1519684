"""Closed-loop cases (闭环处置) and response metrics (行政问效); see docs/CASES.md.

``CaseService`` (data/cases/service.py) creates cases and moves them through their states;
``data/cases/intake.py`` turns 12345 events into cases in bulk; ``data/cases/metrics.py`` measures
the departments and counties; ``data/cases/responsibility.py`` reads the responsibility list.
"""

from data.cases.calendar import WorkCalendar
from data.cases.responsibility import Responsibilities, ResponsibilityError, Route
from data.cases.service import (
    ACTIONS,
    STATES,
    CaseNotFound,
    CaseService,
    InvalidTransition,
    case_from_warning,
)

__all__ = [
    "ACTIONS",
    "STATES",
    "CaseNotFound",
    "CaseService",
    "InvalidTransition",
    "Responsibilities",
    "ResponsibilityError",
    "Route",
    "WorkCalendar",
    "case_from_warning",
]
