"""The live feed: a periodic thread that emits each source's new simulated events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from data.events import SOURCES
from data.feeds.simulator.core import Simulator
from data.periodic import Periodic
from data.times import utc


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class SimulatorFeed(Periodic):
    """Live feed: a daemon thread that emits, every ``interval_s``, each source's new events.

    At each tick it takes ``now`` (simulated time: the start time plus ``speed`` x the elapsed
    ``clock()`` time), generates for every enabled source the events with last_tick < time <= now
    and calls ``sink(source, frame)`` when there are any.
    A sink exception is counted in ``stats`` and does not stop the feed.
    """

    thread_name = "simulator-feed"

    def __init__(
        self,
        simulator: Simulator,
        sink: Callable[[str, pd.DataFrame], object],
        *,
        interval_s: float = 2.0,
        speed: float = 1.0,
        clock: Callable[[], Any] | None = None,
    ) -> None:
        if interval_s <= 0 or speed <= 0:
            raise ValueError("interval_s and speed must be > 0")
        super().__init__()
        self.simulator = simulator
        self.sink = sink
        self.interval_s = float(interval_s)
        self.speed = float(speed)
        self.clock = clock or _utc_now
        self._lock = threading.Lock()
        self._t0_clock: pd.Timestamp | None = None
        self._last: pd.Timestamp | None = None
        self.started_at: pd.Timestamp | None = None  # simulated time of start()
        self._stats = {
            s: {"events": 0, "batches": 0, "errors": 0, "last_tick": None, "last_error": None}
            for s in SOURCES
        }

    def _clock(self) -> pd.Timestamp:
        return utc(self.clock())

    def sim_now(self) -> pd.Timestamp:
        """Current simulated time."""
        now = self._clock()
        if self._t0_clock is None or self.speed == 1.0:
            return now
        return self._t0_clock + (now - self._t0_clock) * self.speed

    def tick(self) -> dict[str, int]:
        """Emit the events of (last tick, now]; returns the counts per source (thread's step)."""
        now = self.sim_now()
        if self._last is None:
            self._last = now
            return {}
        counts: dict[str, int] = {}
        if now <= self._last:
            return counts
        a, b = self._last + pd.Timedelta(microseconds=1), now + pd.Timedelta(microseconds=1)
        for src in SOURCES:
            if self.simulator.rates.get(src, 0) <= 0:
                continue
            st = self._stats[src]
            try:
                frame = self.simulator.generate(src, a, b)
                # an empty batch still tells the store the feed is alive (feed health)
                self.sink(src, frame)
                counts[src] = len(frame)
                with self._lock:
                    st["events"] += len(frame)
                    st["batches"] += 1 if len(frame) else 0
                    st["last_tick"] = now
            except Exception as exc:  # noqa: BLE001  (a failing sink must not kill the feed)
                with self._lock:
                    st["errors"] += 1
                    st["last_error"] = f"{type(exc).__name__}: {exc}"
                    st["last_tick"] = now
        self._last = now
        return counts

    def step(self) -> None:
        self.tick()

    def before_start(self) -> None:
        # no backfill: the first tick emits the events after the start time
        now = self._clock()
        self._t0_clock = now
        self._last = self.started_at = now

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {s: dict(v) for s, v in self._stats.items()}
