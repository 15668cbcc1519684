"""Scheduled briefings: the city's and every county's daily, weekly and monthly briefing,
written when due (data/briefings/archive.py says when and where) by a daemon thread.

It lives above data/ because it renders documents (reports); the app hands it to the runtime
(``Runtime.workers``), which starts and stops it with the feeds.
"""

from __future__ import annotations

import logging
from itertools import groupby
from pathlib import Path

from data import briefings, indicators
from data.areas import scope_for_code
from data.briefings import archive
from data.periodic import Periodic
from data.times import utc_now
from reports import render

log = logging.getLogger(__name__)


def folder_for(settings) -> Path:
    """The briefings folder: ``briefing_dir``, else "briefings" beside the database file."""
    return Path(settings.briefing_dir or Path(settings.db).parent / "briefings")


class BriefingScheduler(Periodic):
    """Writes every due briefing (:func:`data.briefings.archive.due`) each ``briefing_interval_s``
    seconds. ``clock``: the current time (tests pass a fixed one)."""

    thread_name = "onegrid-briefings"
    # the first look one interval after start: the wall's first screens come first
    step_at_start = False

    def __init__(self, runtime, clock=None) -> None:
        super().__init__()
        settings = runtime.settings
        self.rt = runtime
        self.interval_s = float(settings.briefing_interval_s)
        self.folder = folder_for(settings)
        self.at = archive.parse_at(settings.briefing_at)
        self.langs = tuple(settings.briefing_langs)
        self.formats = tuple(settings.briefing_formats)
        self.clock = clock or utc_now
        self.written = 0

    def step(self) -> None:
        self.run_due()

    def run_due(self, now=None) -> list[int]:
        """Write the briefings due at ``now`` (default: the clock's time) that are not yet
        archived; returns the new files' ids. Stops between briefings when asked to stop."""
        now = utc_now(now if now is not None else self.clock())
        rt = self.rt
        items = archive.due(
            rt.db,
            now=now,
            timezone=rt.timezone,
            at=self.at,
            areas=archive.scheduled_areas(rt.db),
            langs=self.langs,
            formats=self.formats,
        )
        written = []
        # with a webhook configured, each file is announced there, held by quiet hours
        notice_due = None
        if rt.settings.case_webhook_url:
            notice_due = rt.cases.calendar.next_working([now])[0]
        for (period, day, area), group in groupby(items, key=lambda d: (d.period, d.day, d.area)):
            if self._stop.is_set():
                break
            brief = briefings.build(
                rt.db,
                scope_for_code(rt.db, area),
                period=period,
                day=day,
                timezone=rt.timezone,
                now=indicators.reading_time(rt.db, now),
                escalate_after=rt.settings.warnings_escalate_after_s,
                department_name=rt.cases.rules.department_name,
                catalogue=rt.catalogue,
            )
            events = int(brief.events_total.value or 0)
            for item in group:
                body = render(brief, item.fmt, item.lang, areas=rt.region.areas)
                written.append(
                    archive.write(
                        rt.db,
                        self.folder,
                        item,
                        body,
                        events=events,
                        now=now,
                        notice_due=notice_due,
                    )
                )
                log.info("briefing written: %s (%s bytes)", item.relpath, f"{len(body):,}")
        self.written += len(written)
        if written and notice_due is not None and notice_due <= now:
            rt.cases.deliverer.wake()  # working time: post the notices now, not next round
        return written
