"""Early warning (监测预警): graded warnings over the grid, with a lifecycle.

- :mod:`data.warnings.rules`: the rules file (``data/rules.toml``) and its validation
- :mod:`data.warnings.engine`: ``WarningEngine.evaluate(now)``: conditions, pending, lifecycle,
  escalation, fusion
- :mod:`data.warnings.actions`: ``acknowledge``, ``clear``
- :mod:`data.warnings.queries`: what the screens read (every function takes an AreaScope)
- :mod:`data.warnings.scheduler`: the periodic evaluation thread
"""

from data.warnings.actions import WarningActionError, acknowledge, clear
from data.warnings.engine import EvaluationResult, WarningEngine
from data.warnings.rules import LEVELS, RANK, RulesError, RuleSet, load_rules, parse_rules
from data.warnings.scheduler import WarningScheduler

__all__ = [
    "LEVELS",
    "RANK",
    "EvaluationResult",
    "RuleSet",
    "RulesError",
    "WarningActionError",
    "WarningEngine",
    "WarningScheduler",
    "acknowledge",
    "clear",
    "load_rules",
    "parse_rules",
]
