"""Briefings (城市运行日报 / 周报 / 月报): the figures of a period for an area, as plain values.

Every number comes from the indicator catalogue (:mod:`data.indicators`) and carries its
indicator id, so a briefing, an export and a screen give one figure one definition. The words
around the numbers, and the file formats, are the renderers' (the ``reports`` package); this
module knows neither languages nor formats.

Periods are the region's local calendar (data/times.py): ``day`` the local day of the date,
``week`` the ISO week (Monday to Sunday) containing it, ``month`` its calendar month. Each is
compared with the period before and, when the store holds events that old, with the same period
a year earlier.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from scipy.stats import poisson

from data import indicators
from data.areas import LEVELS, AreaScope
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.store import Database
from data.times import PERIODS, calendar_period, previous_period, utc_now
from data.warnings.rules import LEVELS as WARNING_LEVELS

TOP_AREAS = 5  # the areas with the most events
TOP_SUBJECTS = 5  # hotline subjects named in the text
# A grid cell stands out against its own usual (events.usual) when it had at least STANDOUT_MIN
# events and so many would happen by chance less than once in 1,000 periods (Poisson tail,
# its usual floored at STANDOUT_FLOOR so a cell that is usually empty needs more than a few).
STANDOUT_MIN = 5
STANDOUT_P = 0.001
STANDOUT_FLOOR = 0.5
STANDOUT_SHOWN = 5
CASE_FIGURES = (
    "cases.opened",
    "cases.closed",
    "cases.on_time_rate",
    "cases.median_close_hours",
    "cases.overdue_open",
    "cases.reworked",
    "cases.returns",
    "cases.extended",
    "cases.effect",
)


@dataclass(frozen=True)
class Figure:
    """One number of a briefing: the indicator it is, its dimension member, its value (None when
    the figure does not exist, e.g. a rate without cases) and the period it is for."""

    indicator: str
    value: float | None
    key: str | None = None
    since: pd.Timestamp | None = None
    until: pd.Timestamp | None = None


@dataclass
class Briefing:
    """A briefing's content: plain values, ready for a renderer."""

    period: str
    day: pd.Timestamp  # the date asked for (local calendar date)
    since: pd.Timestamp
    until: pd.Timestamp
    timezone: str
    generated_at: pd.Timestamp
    area: dict  # code, level, name_zh, name_en
    previous: tuple[pd.Timestamp, pd.Timestamp]
    last_year: tuple[pd.Timestamp, pd.Timestamp] | None
    events_total: Figure
    events_previous: Figure | None  # None: the store does not reach back to that period
    events_last_year: Figure | None
    per_10k: Figure
    # per source: this period, the previous one (None when not covered), last year's (or None)
    by_source: list[tuple[Figure, Figure | None, Figure | None]]
    top_level: str | None  # the level of top_areas (community, or the finest named level)
    top_areas: list[dict]  # code, name_zh, name_en, figure
    # events.total of every area of top_level (code -> value): the map's colours
    area_counts: dict[str, float]
    # grid cells well above their own usual: code, names, figure (events.total), usual; None
    # when the store is too young to have a usual (events.usual unknown)
    standing_out: list[dict] | None
    warnings: dict[str, dict[str, Figure]]  # level -> raised / acknowledged / cleared
    warnings_total: dict[str, Figure]  # raised / acknowledged / cleared over every level
    cases: dict[str, Figure]  # indicator id -> figure
    departments: list[dict]  # department, names {zh, en}, opened, on_time, median_hours
    counties: list[dict]  # code, name_zh, name_en, opened, on_time, overdue
    hotline: list[Figure]  # top subjects (key = subject)
    used: list[str] = field(default_factory=list)  # the indicator ids it shows (the appendix)
    # the sources it counts, with their configured names (the renderers name them from it)
    catalogue: Catalogue = DEFAULT_CATALOGUE


class BriefingError(ValueError):
    """A briefing that cannot be made (unknown period, bad date); the message says why."""


def build(
    db: Database,
    scope: AreaScope,
    *,
    period: str,
    day,
    timezone: str,
    now=None,
    escalate_after: dict[str, float] | None = None,
    department_name: Callable[[str, str], str] | None = None,
    catalogue: Catalogue = DEFAULT_CATALOGUE,
) -> Briefing:
    """The briefing of ``period`` (day, week, month) containing local date ``day`` for the area
    ``scope``. ``now``: when the figures are read (cases open past their deadline then are
    overdue; default :func:`data.indicators.reading_time`: the current time, or an imported
    store's newest activity). ``department_name(id, lang)`` names departments; ``catalogue``:
    the deployment's sources (settings' ``catalogue``), one row each."""
    if period not in PERIODS:
        raise BriefingError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    try:
        day = pd.Timestamp(day).normalize()
    except (ValueError, TypeError) as exc:
        raise BriefingError(f"bad date {day!r}: {exc}") from None
    since, until = calendar_period(period, day, timezone)
    prev = previous_period(period, since, timezone)
    last = previous_period(period, since, timezone, years=1)
    now = indicators.reading_time(db) if now is None else utc_now(now)
    used: list[str] = []
    kw = dict(now=now, escalate_after=escalate_after, sources=catalogue.ids)

    def frame(ind_id, s=since, u=until, by=None) -> pd.DataFrame:
        if ind_id not in used:
            used.append(ind_id)
        return indicators.compute(db, ind_id, scope, s, u, by=by, **kw)

    def one(ind_id, s=since, u=until) -> Figure:
        v = frame(ind_id, s, u)["value"].iloc[0]
        return Figure(ind_id, None if pd.isna(v) else float(v), None, s, u)

    def keyed(ind_id, s=since, u=until) -> dict[str, Figure]:
        df = frame(ind_id, s, u)
        return {
            k: Figure(ind_id, None if pd.isna(v) else float(v), k, s, u)
            for k, v in zip(df["key"], df["value"], strict=True)
        }

    history = _has_history(db, scope, last[0])
    area = _area(db, scope)
    # a store that starts inside the previous period would read as a surge: no comparison then
    covered = _has_history(db, scope, prev[0])
    src_now = keyed("events.by_source")
    src_prev = keyed("events.by_source", *prev) if covered else {}
    src_last = keyed("events.by_source", *last) if history else {}
    by_source = [(src_now[s], src_prev.get(s), src_last.get(s)) for s in catalogue.ids]
    by_source.sort(key=lambda t: -(t[0].value or 0))

    top_level = _top_level(scope)
    top_areas, area_counts = [], {}
    if top_level is not None:
        df = frame("events.total", by=top_level).sort_values(
            ["value", "area"], ascending=[False, True]
        )
        area_counts = dict(zip(df["area"], df["value"].astype(float), strict=True))
        for r in df.head(TOP_AREAS).itertuples():
            if r.value > 0:
                fig = Figure("events.total", float(r.value), None, since, until)
                top_areas.append(
                    {"code": r.area, "name_zh": r.name_zh, "name_en": r.name_en, "figure": fig}
                )

    standing_out = _standing_out(frame, since, until)

    names = {"raised": "warnings.raised", "acknowledged": "warnings.acknowledged_in_time"}
    names["cleared"] = "warnings.cleared"
    per_kind = {kind: keyed(ind) for kind, ind in names.items()}
    warn = {lv: {kind: per_kind[kind][lv] for kind in names} for lv in WARNING_LEVELS}
    warn_total = {
        kind: Figure(ind, sum(f.value or 0 for f in per_kind[kind].values()), None, since, until)
        for kind, ind in names.items()
    }

    cases = {ind: one(ind) for ind in CASE_FIGURES}
    departments = _departments(frame, since, until, department_name)
    counties = _counties(frame, scope, since, until)
    hot = frame("hotline.top_subjects").head(TOP_SUBJECTS)
    hotline = [
        Figure("hotline.top_subjects", float(v), k, since, until)
        for k, v in zip(hot["key"], hot["value"], strict=True)
    ]
    used.append("events.per_10k")
    return Briefing(
        period=period,
        day=day,
        since=since,
        until=until,
        timezone=timezone,
        generated_at=now,
        area=area,
        previous=prev,
        last_year=last if history else None,
        events_total=one("events.total"),
        events_previous=one("events.total", *prev) if covered else None,
        events_last_year=one("events.total", *last) if history else None,
        per_10k=one("events.per_10k"),
        by_source=by_source,
        top_level=top_level,
        top_areas=top_areas,
        area_counts=area_counts,
        standing_out=standing_out,
        warnings=warn,
        warnings_total=warn_total,
        cases=cases,
        departments=departments,
        counties=counties,
        hotline=hotline,
        used=list(dict.fromkeys(used)),
        catalogue=catalogue,
    )


def _area(db: Database, scope: AreaScope) -> dict:
    row = db.query_one(
        "SELECT code, level, name_zh, name_en FROM areas WHERE key = ?", [int(scope.key)]
    )
    return dict(zip(("code", "level", "name_zh", "name_en"), row, strict=True))


def _has_history(db: Database, scope: AreaScope, since: pd.Timestamp) -> bool:
    """True when the store holds events of the area from ``since`` or earlier (a year ago)."""
    where, params = scope.where()
    row = db.query_one(
        f"SELECT 1 FROM events WHERE {where} AND event_time <= ? LIMIT 1",
        [*params, since.to_pydatetime()],
    )
    return row is not None


def _top_level(scope: AreaScope) -> str | None:
    """Communities, or the finest named level above the grid cells below the area."""
    below = LEVELS[LEVELS.index(scope.level) + 1 : -1]
    return below[-1] if below else None


def _standing_out(frame, since, until) -> list[dict] | None:
    """The grid cells whose events in the period stand out against their own usual (see
    STANDOUT_*), most unusual first: code, name_zh, name_en, figure, usual (Figures); None when
    the store is too young for a usual."""
    usual = frame("events.usual", by="grid").set_index("area")["value"]
    if usual.isna().all():  # the store is younger than the usual's 4 weeks: no yardstick yet
        return None
    got = frame("events.total", by="grid")
    got = got[got["value"] >= STANDOUT_MIN]
    if got.empty:
        return []
    got = got.assign(usual=got["area"].map(usual).astype("float64").fillna(0.0))
    lam = got["usual"].clip(lower=STANDOUT_FLOOR)
    got = got.assign(p=poisson.sf(got["value"] - 1, lam), ratio=got["value"] / lam)
    got = got[got["p"] < STANDOUT_P].sort_values(["ratio", "area"], ascending=[False, True])
    return [
        {
            "code": r.area,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "figure": Figure("events.total", float(r.value), None, since, until),
            "usual": Figure("events.usual", float(r.usual), None, since, until),
        }
        for r in got.head(STANDOUT_SHOWN).itertuples()
    ]


def _departments(frame, since, until, department_name) -> list[dict]:
    opened = frame("cases.department_opened")
    rate = frame("cases.department_on_time_rate").set_index("key")["value"]
    hours = frame("cases.department_median_close_hours").set_index("key")["value"]
    out = []
    for r in opened.sort_values(["value", "key"], ascending=[False, True]).itertuples():
        dept = r.key

        def fig(ind, v, dept=dept):
            return Figure(ind, None if pd.isna(v) else float(v), dept, since, until)

        out.append(
            {
                "department": dept,
                "names": {
                    lang: (department_name(dept, lang) if department_name else dept)
                    for lang in ("zh", "en")
                },
                "opened": fig("cases.department_opened", r.value),
                "on_time": fig("cases.department_on_time_rate", rate.get(dept)),
                "median_hours": fig("cases.department_median_close_hours", hours.get(dept)),
            }
        )
    return out


def _counties(frame, scope: AreaScope, since, until) -> list[dict]:
    """Cases per county, for a city briefing (a county briefing has one county: none)."""
    if scope.level != "city":
        return []
    opened = frame("cases.opened", by="county")
    rate = frame("cases.on_time_rate", by="county").set_index("area")["value"]
    overdue = frame("cases.overdue_open", by="county").set_index("area")["value"]
    out = []
    for r in opened.itertuples():

        def fig(ind, v):
            return Figure(ind, None if pd.isna(v) else float(v), None, since, until)

        out.append(
            {
                "code": r.area,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "opened": fig("cases.opened", r.value),
                "on_time": fig("cases.on_time_rate", rate.get(r.area)),
                "overdue": fig("cases.overdue_open", overdue.get(r.area)),
            }
        )
    return out
