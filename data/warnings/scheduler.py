"""The warnings scheduler: a daemon thread evaluating the rules every ``interval_s`` seconds,
and on demand (``run_now``). Evaluations never overlap."""

from __future__ import annotations

import threading

import pandas as pd

from data.periodic import Periodic


class WarningScheduler(Periodic):
    """Runs ``engine.evaluate(clock())`` periodically in a daemon thread."""

    thread_name = "onegrid-warnings"
    step_at_start = True

    def __init__(self, engine, interval_s: float = 30.0, clock=None) -> None:
        super().__init__()
        self.engine = engine
        self.interval_s = float(interval_s)
        self.clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))
        self._lock = threading.Lock()
        self.last_result = None
        self.last_error: str | None = None
        self.runs = 0

    def run_now(self, now=None):
        """Evaluate once now (or at ``now``); returns the EvaluationResult."""
        with self._lock:
            try:
                result = self.engine.evaluate(now if now is not None else self.clock())
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.last_result = result
            self.last_error = None
            self.runs += 1
            return result

    def step(self) -> None:
        self.run_now()
