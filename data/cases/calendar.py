"""Working time: deadlines in working hours / days, and the next working instant (quiet hours).

Working time is ``work_start``-``work_end`` local time on ``work_days`` (Monday = 0) except
``holidays`` (local dates), from the settings. Every function is vectorised over timestamps.

Durations are written ``<number><unit>``:

- ``h``: calendar hours, around the clock (emergencies: ``2h``)
- ``d``: calendar days (``15d``)
- ``wh``: working hours: only time inside working hours counts (``4wh``)
- ``wd``: working days: one working day = one full working-day length of working time, so 3 wd
  from Monday 10:00 ends Thursday 10:00; from Saturday it ends Wednesday at ``work_end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

UNITS = ("h", "d", "wh", "wd")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wh|wd|h|d)\s*$")


def parse_duration(text: str) -> tuple[float, str]:
    """``"3wd"`` -> ``(3.0, "wd")``; ValueError for anything else."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(
            f"duration {text!r} must be a number and a unit: h (hours), d (days), "
            "wh (working hours), wd (working days), e.g. '2h', '3wd'"
        )
    amount = float(m.group(1))
    if amount <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return amount, m.group(2)


def _seconds(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 3600 + int(m) * 60


@dataclass(frozen=True)
class WorkCalendar:
    """Working time of a city. ``timezone``: IANA zone of the local clock."""

    timezone: str = "UTC"
    work_start: str = "08:30"
    work_end: str = "17:30"
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if _seconds(self.work_end) <= _seconds(self.work_start):
            raise ValueError("work_end must be after work_start")
        if not self.work_days or any(d not in range(7) for d in self.work_days):
            raise ValueError("work_days must be weekday numbers 0 (Monday) .. 6")

    @classmethod
    def from_settings(cls, settings, timezone: str) -> WorkCalendar:
        return cls(
            timezone=timezone,
            work_start=settings.work_start,
            work_end=settings.work_end,
            work_days=tuple(settings.work_days),
            holidays=tuple(settings.holidays),
        )

    # ------------------------------------------------------------------------------------------

    @property
    def day_seconds(self) -> int:
        """Length of one working day in seconds."""
        return _seconds(self.work_end) - _seconds(self.work_start)

    def _mask(self) -> list[int]:
        return [1 if d in self.work_days else 0 for d in range(7)]

    def _hol(self) -> np.ndarray:
        return np.array(sorted(self.holidays), dtype="datetime64[D]")

    def _start_point(self, ts: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Each instant's next working instant as (local date, seconds worked that day)."""
        local = ts.tz_convert(self.timezone)
        day = local.tz_localize(None).normalize()
        dates = day.values.astype("datetime64[D]")
        sec = (local.tz_localize(None) - day).total_seconds().to_numpy()
        s0, s1 = _seconds(self.work_start), _seconds(self.work_end)
        mask, hol = self._mask(), self._hol()
        is_bd = np.is_busday(dates, weekmask=mask, holidays=hol)
        before = is_bd & (sec < s0)
        inside = is_bd & (sec >= s0) & (sec < s1)
        offset = np.where(inside, sec - s0, 0.0)
        # after hours or on a day off: the next working day's start
        step = np.where(is_bd & ~before & ~inside, 1, 0)
        start_day = np.busday_offset(dates, step, roll="forward", weekmask=mask, holidays=hol)
        return start_day, offset

    def _local_to_utc(self, days: np.ndarray, seconds: np.ndarray) -> pd.DatetimeIndex:
        naive = pd.DatetimeIndex(days.astype("datetime64[ns]")) + pd.to_timedelta(seconds, unit="s")
        local = naive.tz_localize(
            self.timezone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
        )
        return local.tz_convert("UTC")

    def next_working(self, ts) -> pd.DatetimeIndex:
        """The first working instant at or after each of ``ts`` (itself when inside working time)."""
        idx = _index(ts)
        if not len(idx):
            return idx
        day, offset = self._start_point(idx)
        out = self._local_to_utc(day, _seconds(self.work_start) + offset)
        inside = self.is_working(idx)
        values = np.where(
            inside,
            idx.tz_convert("UTC").tz_localize(None).values,
            out.tz_localize(None).values,
        )
        return pd.DatetimeIndex(values).tz_localize("UTC")

    def next_working_one(self, ts) -> pd.Timestamp:
        """:meth:`next_working` of one instant, remembered for the span over which the answer
        follows from it: the push API's writer asks once per hotline batch, and the vectorised
        version costs milliseconds of pandas for one value (issue 12). Later instants only."""
        t = pd.Timestamp(ts)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        span = _SPANS.get(self)
        if span is not None and span[0] <= t < span[1]:
            return t if span[2] else span[1]
        got = pd.Timestamp(self.next_working([t])[0])
        if got > t:
            # no working instant in [t, got): got is the answer for all of it
            _SPANS[self] = (t, got, False)
        else:
            # working: it stays so up to this local day's work_end (clocks change at night)
            day, _ = self._start_point(pd.DatetimeIndex([t]))
            end = self._local_to_utc(day, np.array([float(_seconds(self.work_end))]))[0]
            _SPANS[self] = (t, pd.Timestamp(end), True)
        return got

    def is_working(self, ts) -> np.ndarray:
        """True where the instant lies inside working time."""
        idx = _index(ts)
        local = idx.tz_convert(self.timezone).tz_localize(None)
        day = local.normalize()
        sec = (local - day).total_seconds().to_numpy()
        is_bd = np.is_busday(
            day.values.astype("datetime64[D]"), weekmask=self._mask(), holidays=self._hol()
        )
        return is_bd & (sec >= _seconds(self.work_start)) & (sec < _seconds(self.work_end))

    def add(self, ts, duration) -> pd.DatetimeIndex:
        """Each of ``ts`` plus ``duration`` (text like ``"3wd"``, or one per row)."""
        idx = _index(ts)
        n = len(idx)
        durations = [duration] * n if isinstance(duration, str) else list(duration)
        lookup = {d: parse_duration(d) for d in set(durations)}  # parse each distinct text once
        amount = np.array([lookup[d][0] for d in durations], dtype="float64")
        unit = np.array([lookup[d][1] for d in durations], dtype=object)
        out = np.empty(n, dtype="datetime64[ns]")
        cal = np.isin(unit, ["h", "d"])
        if cal.any():
            secs = np.where(unit[cal] == "d", amount[cal] * 86400, amount[cal] * 3600)
            out[cal] = (
                (idx[cal] + pd.to_timedelta(secs, unit="s"))
                .tz_convert("UTC")
                .tz_localize(None)
                .values
            )
        work = ~cal
        if work.any():
            length = self.day_seconds
            secs = np.where(unit[work] == "wd", amount[work] * length, amount[work] * 3600)
            day, offset = self._start_point(idx[work])
            total = offset + secs
            days = np.floor(total / length).astype(np.int64)
            rem = total - days * length
            # ending exactly at a day's end: that day's work_end, not the next day's start
            end_of_day = (rem == 0) & (days > 0)
            days[end_of_day] -= 1
            rem[end_of_day] = length
            target = np.busday_offset(day, days, weekmask=self._mask(), holidays=self._hol())
            out[work] = (
                self._local_to_utc(target, _seconds(self.work_start) + rem).tz_localize(None).values
            )
        return pd.DatetimeIndex(out).tz_localize("UTC")


# per calendar: (from, to, working) of the last next_working_one answer (see there)
_SPANS: dict[WorkCalendar, tuple[pd.Timestamp, pd.Timestamp, bool]] = {}


def _index(ts) -> pd.DatetimeIndex:
    if isinstance(ts, pd.Timestamp):
        ts = [ts]
    idx = pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    return idx
