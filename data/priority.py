"""Who waits when the CPU is short: ingest first, screens second (issue 12).

On a 2-core server a bulk drop keeps the writer and the drop's thread busy while every screen's
requests and the wall's view renewals ask for CPU too. The kernel shares a short CPU evenly
between runnable threads, so the writer, the pipeline's one serial step, got a fraction of a
core and the drop slowed by a tenth to a fifth with 50 screens watching. Screens are served state
computed once per data version, so a screen thread that waits a few milliseconds more costs
nobody anything; a writer that waits holds up every feed.

The threads that serve screens therefore run at a higher *nice* value (a lower priority): the
web server's threads once they have served a page or a Dash callback, and the threads that
renew shared views and sessions. Nice only decides who waits when every core is busy: on an
idle machine it changes nothing. Linux only (there a thread's nice value is its own); elsewhere
the call does nothing. A thread cannot lower its nice value again without privileges, which it
never needs to.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

# the most a thread's nice value may be (Linux: -20 highest priority .. 19 lowest)
MAX_NICE = 19
_warned: list[bool] = []


def supported() -> bool:
    """True where a thread's priority can be set on its own (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "setpriority")


def thread_nice(native_id: int | None = None) -> int | None:
    """The nice value of a thread (default: the calling one); None where not supported."""
    if not supported():
        return None
    return os.getpriority(os.PRIO_PROCESS, native_id or threading.get_native_id())


def yield_to_ingest(nice: int) -> bool:
    """Lower the calling thread's priority to nice value ``nice`` (0..19; 0 leaves it as it is).

    Returns True when the thread now runs at ``nice`` or lower priority. Never raises: a system
    that refuses (a sandbox) keeps the thread as it is, with one warning in the log."""
    if nice <= 0 or not supported():
        return False
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) >= nice:
            return True
        os.setpriority(os.PRIO_PROCESS, tid, min(int(nice), MAX_NICE))
    except OSError as exc:
        if not _warned:
            _warned.append(True)
            log.warning(
                "cannot lower a screen thread's priority (%s): screens and ingest share "
                "the CPU evenly",
                exc,
            )
        return False
    return True


def screen_pool(max_workers: int, name: str, nice: int) -> ThreadPoolExecutor:
    """A thread pool for work that serves screens (renewals), its threads at nice ``nice``."""
    return ThreadPoolExecutor(
        max_workers=max_workers,
        thread_name_prefix=name,
        initializer=yield_to_ingest,
        initargs=(nice,),
    )
