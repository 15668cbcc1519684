"""How busy the host was while a benchmark ran, so that a run's figures can be read against it.

This machine is a virtual one on a shared host, whose other tenants take CPU time away: the same
code dropped 1 M events at 102,000 and at 470,000 events/s within the same hour (issue 12). Two
signs are kept for each run, and printed on a line of their own:

- the time of a fixed piece of pure-Python work (:func:`reference_ms`), just before and just after
  the measured window, in the benchmark's own process while the screens run: 188-446 ms on this
  machine in one evening's runs (a slower host does not always show as stolen time);
- the share of the CPU time the hypervisor stole from this machine meanwhile (Linux's ``steal``).
"""

from __future__ import annotations

import time

import psutil

# additions in the reference work: a fifth to a half of a second on this machine
REFERENCE_ADDITIONS = 5_000_000


def reference_ms() -> float:
    """Milliseconds this thread takes for :data:`REFERENCE_ADDITIONS` integer additions."""
    t0 = time.perf_counter()
    total = 0
    for i in range(REFERENCE_ADDITIONS):
        total += i
    return (time.perf_counter() - t0) * 1000


class HostMeter:
    """Started just before a benchmark's measured window; :meth:`summary` just after it."""

    def __init__(self) -> None:
        self.reference_before = reference_ms()
        self._cpu = psutil.cpu_times()

    def summary(self) -> str:
        """One line: the reference work's time before and after, and the share stolen."""
        cpu = psutil.cpu_times()
        total = sum(cpu) - sum(self._cpu)
        stolen = getattr(cpu, "steal", 0.0) - getattr(self._cpu, "steal", 0.0)
        share = stolen / total if total > 0 else 0.0
        after = reference_ms()
        return (
            f"host: reference work {self.reference_before:.0f} ms before the measured time and "
            f"{after:.0f} ms after (lower: a faster host); {share:.1%} of the CPU time stolen "
            "by the hypervisor meanwhile"
        )
