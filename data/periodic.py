"""A daemon thread that does one step every ``interval_s`` seconds and stops promptly.

The feeds, the simulator, the warnings scheduler and the simulated departments all run this way;
a failing step is logged and the thread carries on.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Periodic:
    """Subclasses set ``thread_name`` and ``interval_s`` and implement :meth:`step`.

    ``step_at_start``: take the first step as soon as the thread starts (else after one interval).
    """

    thread_name = "onegrid-periodic"
    interval_s: float = 30.0
    step_at_start = False

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> None:
        """One unit of work (called on the thread)."""
        raise NotImplementedError

    def before_start(self) -> None:
        """Called by :meth:`start` just before the thread starts (for start-time state)."""

    def start(self) -> None:
        """Start the thread (no-op when it is running)."""
        if self.running:
            return
        self._stop.clear()
        self.before_start()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop after the step under way, without waiting (see :meth:`stop`)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop; wait up to ``timeout`` seconds for the step under way."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        if self.step_at_start:
            self._safe_step()
        while not self._stop.wait(self.interval_s):
            self._safe_step()

    def _safe_step(self) -> None:
        try:
            self.step()
        except Exception:  # the thread must outlive any one bad step (even a closed store)
            log.exception("%s: step failed", self.thread_name)
