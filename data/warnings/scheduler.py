"""The warnings scheduler: a daemon thread evaluating the rules every ``interval_s`` seconds,
and on demand (``run_now``). Evaluations never overlap."""

from __future__ import annotations

import logging
import threading

import pandas as pd

log = logging.getLogger(__name__)


class WarningScheduler:
    """Runs ``engine.evaluate(clock())`` periodically in a daemon thread."""

    def __init__(self, engine, interval_s: float = 30.0, clock=None) -> None:
        self.engine = engine
        self.interval_s = float(interval_s)
        self.clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_now()
            except Exception:  # noqa: BLE001  (the scheduler must outlive one bad evaluation)
                log.exception("warning evaluation failed")
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="onegrid-warnings", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
