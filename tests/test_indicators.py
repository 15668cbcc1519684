"""The indicator catalogue: every indicator's value equals an independent count over the same
rows (pandas), for the city and for a county, and a county never counts another county's rows."""

from __future__ import annotations

import pandas as pd
import pytest

from data import indicators
from data.areas import AreaScope, scope_for_code
from data.cases import metrics
from data.times import calendar_period, parse_bound, previous_period
from data.warnings.rules import LEVELS as WLEVELS
from layouts.i18n import LANGUAGES, t
from tests.support import figures
from tests.support.figures import NOW, TZ
from tests.support.stores import tiny_runtime

SINCE, UNTIL = parse_bound("2026-11-09", TZ), parse_bound("2026-11-23", TZ)
ESCALATE = {"blue": 7200.0, "yellow": 3600.0, "orange": 1800.0, "red": 900.0}


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_region_dir):
    """A tiny-region store with known events, warnings and cases (built once for the module)."""
    rt = tiny_runtime(tmp_path_factory.mktemp("indicators"), tiny_region_dir)
    figures.build(rt)
    # one cell without a population figure: its rate per 10,000 is unknown, not zero
    rt.db.write(
        lambda con: con.execute(
            "UPDATE areas SET population = NULL WHERE code = ?", ["T01001001001"]
        )
    )
    yield rt
    rt.stop()


def _raw(rt, table: str) -> pd.DataFrame:
    return rt.db.query_df(f"SELECT * FROM {table}")


def _inside(df: pd.DataFrame, scope: AreaScope) -> pd.DataFrame:
    return df[df[scope.column] == scope.key]


def _in(df, col, since=SINCE, until=UNTIL):
    return df[(df[col] >= since) & (df[col] < until)]


def expected(rt, ind_id: str, scope: AreaScope):
    """The indicator's value computed independently with pandas from the raw rows: a number,
    or a dict (dimension member -> number)."""
    if ind_id == "events.usual":
        ev = _inside(_raw(rt, "events"), scope)
        before = _in(ev, "event_time", SINCE - pd.Timedelta(days=28), SINCE)
        return len(before) * ((UNTIL - SINCE) / pd.Timedelta(days=28))
    if ind_id == "risk.index":
        return _risk(rt, scope)
    if ind_id.startswith(("events.", "hotline.")):
        ev = _in(_inside(_raw(rt, "events"), scope), "event_time")
        if ind_id == "events.total":
            return len(ev)
        if ind_id == "events.by_source":
            return ev["source"].value_counts().to_dict()
        if ind_id == "events.by_category":
            return (ev["source"] + "." + ev["category"]).value_counts().to_dict()
        if ind_id == "events.per_10k":
            pop = rt.db.query_one("SELECT population FROM areas WHERE key = ?", [scope.key])[0]
            return None if pop is None else len(ev) / pop * 10_000
        counts = ev[ev.source == "hotline"].groupby("category").size().reset_index(name="n")
        top = counts.sort_values(["n", "category"], ascending=[False, True]).head(10)
        return dict(zip(top.category, top.n, strict=True))
    if ind_id.startswith("warnings."):
        w = _inside(_raw(rt, "warnings"), scope)
        h = _raw(rt, "warning_history")
        first = h[h.action == "raised"].sort_values("id").groupby("warning_id").to_rank.first()
        w = w.assign(raised_rank=w.id.map(first).fillna(w.level_rank).astype(int))
        if ind_id == "warnings.cleared":
            c = _in(w, "cleared_at")
            return {WLEVELS[r - 1]: n for r, n in c.level_rank.value_counts().items()}
        r = _in(w, "raised_at")
        if ind_id == "warnings.unacknowledged_late":
            limit = pd.to_timedelta(r.raised_rank.map(lambda k: ESCALATE[WLEVELS[k - 1]]), "s")
            handled = pd.concat([r.acknowledged_at, r.cleared_at], axis=1).min(axis=1)
            due = r.raised_at + limit
            r = r[(due <= min(UNTIL, NOW)) & (handled.isna() | (handled > due))]
            return {WLEVELS[k - 1]: n for k, n in r.raised_rank.value_counts().items()}
        if ind_id == "warnings.acknowledged_in_time":
            took = (r.acknowledged_at - r.raised_at).dt.total_seconds()
            limit = r.raised_rank.map(lambda k: ESCALATE[WLEVELS[k - 1]])
            r = r[r.acknowledged_at.notna() & (took <= limit)]
        return {WLEVELS[k - 1]: n for k, n in r.raised_rank.value_counts().items()}
    if ind_id == "cases.effect":
        return _effect(rt, scope)
    c = _raw(rt, "cases")
    if ind_id.endswith("overdue_at_end"):  # the backlog: whenever the case was opened
        c = _inside(c, scope)
        c = c[~c.joint & c.dispatched_at.notna() & c.flag.isna()]
        end = min(UNTIL, NOW)
        c = c[(c.created_at < end) & (c.deadline_at < end)]
        c = c[c.closed_at.isna() | (c.closed_at > end)]
        if ind_id.startswith("cases.department_"):
            return c.department.value_counts().to_dict()
        return len(c)
    if ind_id == "cases.department_returns":  # the department that returned the case
        c = _in(_inside(c, scope), "created_at")
        c = c[~c.joint & c.dispatched_at.notna() & c.flag.isna()]
        t = _raw(rt, "case_transitions")
        t = t[(t.action == "return") & t.case_id.isin(c.id) & t.department.notna()]
        return t.department.value_counts().to_dict()
    c = _in(_inside(c, scope), "created_at")
    c = c[~c.joint & c.dispatched_at.notna() & c.flag.isna()]
    closed = c.closed_at.notna()
    overdue = ~closed & (c.deadline_at < NOW)
    hours = (c.closed_at.dt.floor("s") - c.created_at.dt.floor("s")).dt.total_seconds() / 3600
    if ind_id.startswith("cases.department_"):
        figure = ind_id.removeprefix("cases.department_")
        out = {}
        for dept, g in c.groupby("department"):
            out[dept] = _case_figure(g, figure)
        return out
    return _case_figure(c, ind_id.removeprefix("cases."), closed, overdue, hours)


def _risk(rt, scope: AreaScope):
    """The risk index from the raw events: severity in the period (5-minute buckets from the
    one holding SINCE) against the 4 weeks before, scaled to the period's length; the prior is
    the mean of that baseline over every area of the scope's level in the region."""
    ev = _raw(rt, "events")
    ev = ev.assign(bucket=ev.event_time.dt.floor("5min"))
    start = SINCE.floor("5min")
    base = ev[(ev.bucket >= start - pd.Timedelta(weeks=4)) & (ev.bucket < start)]
    scale = (UNTIL - SINCE) / pd.Timedelta(weeks=4)
    keys = rt.db.query_df("SELECT key FROM areas WHERE level = ?", [scope.level])["key"]
    per_area = base.groupby(scope.column).severity.sum().reindex(keys, fill_value=0) * scale
    a = max(per_area.mean(), 1e-9)
    s = _inside(ev[(ev.bucket >= start) & (ev.bucket < UNTIL)], scope).severity.sum()
    e = _inside(base, scope).severity.sum() * scale
    assert s > 0 and e > 0
    return round(100 * (s + a) / (e + a))


def _effect(rt, scope: AreaScope):
    """Events in the closed cases' cells 7 days after closing against 7 days before, counted
    by 5-minute bucket as the store keeps them (cases closed in the period, 7 days before NOW);
    per cell, an event inside several cases' before (after) windows counts once."""
    c = _inside(_raw(rt, "cases"), scope)
    c = c[~c.joint & c.dispatched_at.notna() & c.flag.isna() & c.cell_key.notna()]
    c = _in(c[c.closed_at.notna()], "closed_at")
    c = c[c.closed_at <= NOW - pd.Timedelta(days=7)]
    ev = _raw(rt, "events")
    ev = ev.assign(bucket=ev.event_time.dt.floor("5min"))
    week = pd.Timedelta(days=7)
    before = after = 0
    for cell_key, cases in c.groupby("cell_key"):
        cell = ev[ev.cell_key == cell_key]
        in_before = pd.Series(False, index=cell.index)
        in_after = pd.Series(False, index=cell.index)
        for closed_at in cases.closed_at:
            in_before |= (cell.bucket >= closed_at - week) & (cell.bucket < closed_at)
            in_after |= (cell.bucket >= closed_at) & (cell.bucket < closed_at + week)
        before += int(in_before.sum())
        after += int(in_after.sum())
    assert len(c) > 5 and before > 0
    return (after - before) / before


def _case_figure(c, figure, closed=None, overdue=None, hours=None):
    closed = c.closed_at.notna() if closed is None else closed
    overdue = (~closed & (c.deadline_at < NOW)) if overdue is None else overdue
    if hours is None:  # DuckDB's date_diff('second') counts whole-second boundaries
        hours = (c.closed_at.dt.floor("s") - c.created_at.dt.floor("s")).dt.total_seconds() / 3600
    if figure == "opened":
        return len(c)
    if figure == "closed":
        return int(closed.sum())
    if figure == "on_time_rate":
        denom = closed.sum() + overdue.sum()
        return (closed & (c.closed_at <= c.deadline_at)).sum() / denom if denom else None
    if figure == "median_close_hours":
        return hours[closed].median() if closed.any() else None
    if figure == "reworked":
        return int((c.reworks > 0).sum())
    if figure == "returns":
        return int(c.returns.sum())
    if figure == "extended":
        return int((c.extensions > 0).sum())
    if figure == "overdue_open":
        return int(overdue.sum())
    raise AssertionError(figure)


def _got(rt, ind_id, scope, **kw):
    df = indicators.compute(
        rt.db, ind_id, scope, SINCE, UNTIL, now=NOW, escalate_after=ESCALATE, **kw
    )
    if indicators.get(ind_id).dimension is None:
        assert len(df) == 1
        v = df["value"].iloc[0]
        return None if pd.isna(v) else v
    return {k: v for k, v in zip(df["key"], df["value"], strict=True) if pd.notna(v) and v}


def _same(got, want):
    if isinstance(want, dict):
        want = {k: v for k, v in want.items() if pd.notna(v) and v}
        assert set(got) == set(want)
        for k in want:
            assert got[k] == pytest.approx(want[k])
    elif want is None:
        assert got is None
    else:
        assert got == pytest.approx(want)


@pytest.mark.parametrize("code", ["T", "T01"])
@pytest.mark.parametrize("ind_id", sorted(indicators.CATALOGUE))
def test_each_indicator_equals_an_independent_count(store, ind_id, code):
    scope = scope_for_code(store.db, code)
    want = expected(store, ind_id, scope)
    assert want not in (0, {}, None) or ind_id == "events.per_10k", "the fixture has none"
    _same(_got(store, ind_id, scope), want)


@pytest.mark.parametrize("ind_id", sorted(indicators.CATALOGUE))
def test_by_county_gives_each_countys_own_value_and_nothing_else(store, ind_id):
    city = scope_for_code(store.db, "T")
    df = indicators.compute(
        store.db, ind_id, city, SINCE, UNTIL, by="county", now=NOW, escalate_after=ESCALATE
    )
    assert set(df["area"]) <= {"T01", "T02"}
    assert set(df["level"]) <= {"county"}
    for code in ("T01", "T02"):
        part = df[df["area"] == code]
        if indicators.get(ind_id).dimension is None:
            got = part["value"].iloc[0]
            got = None if pd.isna(got) else got
        else:
            got = {
                k: v for k, v in zip(part["key"], part["value"], strict=True) if pd.notna(v) and v
            }
        _same(got, expected(store, ind_id, scope_for_code(store.db, code)))


def test_a_county_never_counts_another_countys_rows(store):
    """Every indicator of T01 broken down by cell lists T01's cells only; the counts of the two
    counties add up to the city's."""
    t01 = scope_for_code(store.db, "T01")
    for ind_id in indicators.CATALOGUE:
        df = indicators.compute(store.db, ind_id, t01, SINCE, UNTIL, by="grid", now=NOW)
        assert df["area"].str.startswith("T01").all(), ind_id
    city = scope_for_code(store.db, "T")
    both = sum(
        indicators.value(store.db, "events.total", scope_for_code(store.db, c), SINCE, UNTIL)
        for c in ("T01", "T02")
    )
    assert both == indicators.value(store.db, "events.total", city, SINCE, UNTIL) > 0


def test_rate_per_10k_is_null_without_population_and_zero_cells_are_listed(store):
    t01 = scope_for_code(store.db, "T01")
    df = indicators.compute(store.db, "events.per_10k", t01, SINCE, UNTIL, by="grid")
    assert len(df) == 16  # every cell, with events or not
    row = df[df["area"] == "T01001001001"].iloc[0]
    assert pd.isna(row["value"])
    assert df[df["area"] != "T01001001001"]["value"].notna().all()
    totals = indicators.compute(store.db, "events.total", t01, SINCE, UNTIL, by="grid")
    assert len(totals) == 16 and (totals["value"] >= 0).all()


def test_on_time_rate_is_the_walls_figure(store):
    """The wall's response panel (metrics.wall) and the indicator give the same on-time rate."""
    city = scope_for_code(store.db, "T")
    wall = metrics.wall(store.db, city, now=NOW)
    got = indicators.value(
        store.db, "cases.on_time_rate", city, NOW - pd.Timedelta(days=30), NOW, now=NOW
    )
    assert wall["on_time_rate"] is not None
    assert got == pytest.approx(wall["on_time_rate"])


def test_a_calendar_week_is_monday_to_sunday_local():
    since, until = calendar_period("week", "2026-11-26", TZ)  # a Thursday
    assert since == pd.Timestamp("2026-11-23 00:00", tz=TZ)
    assert until == pd.Timestamp("2026-11-30 00:00", tz=TZ)
    assert parse_bound("2026-11-23", TZ) == since


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(ind_id="no.such"), "unknown indicator"),
        (dict(since=UNTIL, until=SINCE), "must be before"),
        (dict(by="district"), "unknown level"),
        (dict(by="city", code="T01"), "above it"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(store, kw, message):
    scope = scope_for_code(store.db, kw.pop("code", "T"))
    args = dict(ind_id="events.total", since=SINCE, until=UNTIL) | kw
    with pytest.raises(indicators.IndicatorError, match=message):
        indicators.compute(
            store.db, args["ind_id"], scope, args["since"], args["until"], by=kw.get("by")
        )


def test_bare_dates_and_naive_times():
    assert parse_bound("2026-11-09", "UTC") == pd.Timestamp("2026-11-09", tz="UTC")
    with pytest.raises(ValueError, match="offset"):
        parse_bound("2026-11-09T08:00:00", TZ)
    with pytest.raises(ValueError, match="date"):
        parse_bound("2026-13-45", TZ)


def test_every_indicator_has_names_definitions_and_unit_in_both_languages():
    for ind in indicators.CATALOGUE.values():
        for lang in LANGUAGES:
            assert t(f"indicator.{ind.id}.name", lang)
            assert len(t(f"indicator.{ind.id}.definition", lang)) > 15
            assert t(f"unit.{ind.unit}", lang)


def test_calendar_periods_follow_local_midnights_across_daylight_saving():
    ny = "America/New_York"
    since, until = calendar_period("day", "2026-03-08", ny)  # clocks go forward: 23 hours
    assert until - since == pd.Timedelta(hours=23)
    since, until = calendar_period("month", "2026-11-15", ny)
    assert since == pd.Timestamp("2026-11-01", tz=ny) and until == pd.Timestamp("2026-12-01", tz=ny)
    assert previous_period("month", since, ny) == (
        pd.Timestamp("2026-10-01", tz=ny),
        pd.Timestamp("2026-11-01", tz=ny),
    )
    assert previous_period("week", *calendar_period("week", "2026-01-01", ny)[:1], ny) == (
        pd.Timestamp("2025-12-22", tz=ny),
        pd.Timestamp("2025-12-29", tz=ny),
    )
    with pytest.raises(ValueError, match="unknown period"):
        calendar_period("year", "2026-01-01", ny)


def test_an_imported_store_is_read_as_of_its_own_end_not_today(store):
    """The store's newest activity is in late November 2026: read a year later, its open cases
    are overdue as of that activity (right-censored), the same figure as reading then."""
    year_later = pd.Timestamp("2027-12-01", tz="UTC")
    newest = indicators.reading_time(store.db, year_later)
    bucket, updated = store.db.query_one(
        "SELECT (SELECT max(bucket) FROM cell_counts) + INTERVAL 5 MINUTE, "
        "(SELECT greatest(max(created_at), max(closed_at)) FROM cases)"
    )
    assert newest == max(pd.Timestamp(bucket), pd.Timestamp(updated))
    assert newest < pd.Timestamp("2026-12-02", tz="UTC")
    city = scope_for_code(store.db, "T")

    def overdue(now):
        return indicators.value(store.db, "cases.overdue_open", city, SINCE, UNTIL, now=now)

    assert overdue(indicators.reading_time(store.db, year_later)) == overdue(newest)
    assert overdue(newest) < overdue(year_later)  # against "today" every open case is late
    # a live store (newest activity within a day) is read as of now
    soon = newest + pd.Timedelta(hours=3)
    assert indicators.reading_time(store.db, soon) == soon
