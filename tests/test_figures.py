"""The figures builder (data/figures.py): its values are the catalogue's for the same area and
period, comparison periods and the next-period shift are the calendar's, areas outside a user's
scope are refused, saved requests are their owner's, and the files it writes read back with the
table's numbers (openpyxl, python-docx). A real DuckDB file with known data (tests/support)."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import pytest
from docx import Document
from openpyxl import load_workbook

from data import figures, indicators, policy
from data.areas import scope_for_code
from data.auth import User
from data.times import parse_bound
from layouts.figures_table import display_rows, headers
from reports.figures import render
from tests.support import figures as fixtures
from tests.support.figures import NOW, TZ
from tests.support.stores import tiny_runtime

ANALYST = User("ana", "analyst")
LEADER = User("lead", "county_leader", area="T01")
ADMIN = User("boss", "admin")
OTHER = User("ola", "analyst")
WEEK = {"since": "2026-11-09", "until": "2026-11-16"}  # Monday to Monday: an ISO week


@pytest.fixture(scope="module")
def rt(tmp_path_factory, tiny_region_dir):
    runtime = tiny_runtime(tmp_path_factory.mktemp("figures"), tiny_region_dir)
    fixtures.build(runtime)
    yield runtime
    runtime.stop()


def req(**kw) -> figures.FiguresRequest:
    base = {"indicators": ["events.total"], "areas": ["T01"], **WEEK}
    return figures.parse(base | kw)


def ts(text: str) -> pd.Timestamp:
    return parse_bound(text, TZ)


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and not (isinstance(b, float) and math.isnan(b)) and a == pytest.approx(b)


# --- values --------------------------------------------------------------------------------------


def test_values_are_the_catalogues_for_the_period_and_the_previous_one(rt):
    # areas of one level are computed together (one grouped query): two counties, two grid
    # cells of different counties, two of one community, next to a city and a township alone
    inds = ["events.total", "events.by_source", "events.by_category", "cases.on_time_rate"]
    areas = ["T", "T01", "T02", "T02001", "T01001001005", "T02001001003", "T01001001009"]
    figs = figures.build(
        rt.db, req(indicators=inds, areas=areas, compare="previous"), ANALYST, timezone=TZ, now=NOW
    )
    tab = figs.table
    assert list(tab.columns) == list(figures.COLUMNS)
    # the rows come in the order asked: indicator, then area
    assert list(dict.fromkeys(tab["indicator"])) == inds
    assert list(dict.fromkeys(tab.loc[tab.indicator == "events.total", "area"])) == areas
    checked = 0
    for ind in inds:
        for code in areas:
            scope = scope_for_code(rt.db, code)
            now_ = indicators.compute(
                rt.db, ind, scope, ts("2026-11-09"), ts("2026-11-16"), now=NOW
            )
            before = indicators.compute(
                rt.db, ind, scope, ts("2026-11-02"), ts("2026-11-09"), now=NOW
            )
            part = tab[(tab.indicator == ind) & (tab.area == code)]
            got = dict(
                zip(
                    part["key"], zip(part["value"], part["compare_value"], strict=True), strict=True
                )
            )
            want_now = dict(zip(now_["key"], now_["value"], strict=True))
            want_before = dict(zip(before["key"], before["value"], strict=True))
            zero = indicators.get(ind).zero
            for key in set(want_now) | set(want_before):
                v, c = got[key]
                assert _same(v, want_now.get(key, zero)), (ind, code, key)
                assert _same(c, want_before.get(key, zero)), (ind, code, key)
                checked += 1
            assert set(got) == set(want_now) | set(want_before)
    assert checked > 40
    # change and change % follow from the two values
    total = tab[(tab.indicator == "events.total") & (tab.area == "T")].iloc[0]
    assert total["value"] > 0 and total["compare_value"] > 0
    assert total["change"] == total["value"] - total["compare_value"]
    assert total["change_pct"] == pytest.approx(total["change"] / total["compare_value"] * 100)


def test_every_indicator_equals_the_catalogue_for_each_area(rt):
    """The whole catalogue (12 at a time, the page's limit) for areas of one level answered
    together, against compute() for each area alone."""
    ids = list(indicators.CATALOGUE)
    areas = ["T01", "T02", "T01001001001", "T02001001016", "T01001001002"]
    for start in range(0, len(ids), figures.MAX_INDICATORS):
        inds = ids[start : start + figures.MAX_INDICATORS]
        tab = figures.build(
            rt.db, req(indicators=inds, areas=areas), ANALYST, timezone=TZ, now=NOW
        ).table
        for ind in inds:
            for code in areas:
                want = indicators.compute(
                    rt.db,
                    ind,
                    scope_for_code(rt.db, code),
                    ts("2026-11-09"),
                    ts("2026-11-16"),
                    now=NOW,
                )
                part = tab[(tab.indicator == ind) & (tab.area == code)]
                assert list(part["key"]) == list(want["key"]), (ind, code)
                for a, b in zip(part["value"], want["value"], strict=True):
                    assert _same(a, b), (ind, code)


def test_no_comparison_leaves_the_comparison_columns_empty(rt):
    figs = figures.build(rt.db, req(), ANALYST, timezone=TZ, now=NOW)
    row = figs.table.iloc[0]
    assert figs.periods.compare_since is None
    assert math.isnan(row["compare_value"]) and math.isnan(row["change"])
    assert row["value"] == indicators.value(
        rt.db, "events.total", scope_for_code(rt.db, "T01"), ts("2026-11-09"), ts("2026-11-16")
    )


# --- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "kind", "previous", "last_year"),
    [
        (
            "2026-11-18",
            "2026-11-19",
            "day",
            ("2026-11-17", "2026-11-18"),
            ("2025-11-18", "2025-11-19"),
        ),
        # an ISO week: the week before; last year, the ISO week holding the same date
        (
            "2026-11-09",
            "2026-11-16",
            "week",
            ("2026-11-02", "2026-11-09"),
            ("2025-11-03", "2025-11-10"),
        ),
        (
            "2026-11-01",
            "2026-12-01",
            "month",
            ("2026-10-01", "2026-11-01"),
            ("2025-11-01", "2025-12-01"),
        ),
        (
            "2026-03-01",
            "2026-04-01",
            "month",
            ("2026-02-01", "2026-03-01"),
            ("2025-03-01", "2025-04-01"),
        ),
        # ten days that are no calendar period: the ten before; the same dates a year earlier
        (
            "2026-11-05",
            "2026-11-15",
            None,
            ("2026-10-26", "2026-11-05"),
            ("2025-11-05", "2025-11-15"),
        ),
    ],
)
def test_comparison_periods(since, until, kind, previous, last_year):
    p = figures.periods(req(since=since, until=until, compare="previous"), TZ)
    assert p.kind == kind
    assert (p.since, p.until) == (ts(since), ts(until))
    assert (p.compare_since, p.compare_until) == (ts(previous[0]), ts(previous[1]))
    p = figures.periods(req(since=since, until=until, compare="same_last_year"), TZ)
    assert (p.compare_since, p.compare_until) == (ts(last_year[0]), ts(last_year[1]))
    custom = req(
        since=since,
        until=until,
        compare="custom",
        compare_since="2024-01-01",
        compare_until="2024-01-08",
    )
    p = figures.periods(custom, TZ)
    assert (p.compare_since, p.compare_until) == (ts("2024-01-01"), ts("2024-01-08"))


@pytest.mark.parametrize(
    ("since", "until", "after"),
    [
        ("2026-11-30", "2026-12-01", ("2026-12-01", "2026-12-02")),  # a day: the next day
        ("2026-11-09", "2026-11-16", ("2026-11-16", "2026-11-23")),  # a week: the next week
        ("2026-11-01", "2026-12-01", ("2026-12-01", "2027-01-01")),  # 30 days -> 31 days
        ("2027-01-01", "2027-02-01", ("2027-02-01", "2027-03-01")),  # 31 days -> 28 days
        ("2026-11-05", "2026-11-15", ("2026-11-15", "2026-11-25")),  # a span: by its length
        (
            "2026-11-05T08:00:00+08:00",
            "2026-11-05T20:00:00+08:00",
            ("2026-11-05T20:00:00+08:00", "2026-11-06T08:00:00+08:00"),
        ),
    ],
)
def test_next_period(since, until, after):
    nxt = figures.next_request(req(since=since, until=until, compare="previous"), TZ)
    assert (nxt.since, nxt.until) == after
    assert nxt.compare == "previous" and nxt.indicators == ["events.total"]


def test_next_period_moves_a_custom_comparison_too():
    r = req(
        since="2026-11-01",
        until="2026-12-01",
        compare="custom",
        compare_since="2026-09-01",
        compare_until="2026-10-01",
    )
    nxt = figures.next_request(r, TZ)
    assert (nxt.since, nxt.until) == ("2026-12-01", "2027-01-01")
    assert (nxt.compare_since, nxt.compare_until) == ("2026-10-01", "2026-11-01")


# --- a request's checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"indicators": ["events.nope"]}, "unknown indicator(s): events.nope"),
        ({"indicators": []}, "indicators"),
        ({"areas": []}, "areas"),
        ({"areas": ["T01; DROP TABLE areas"]}, "not an area code"),
        ({"since": "2026-13-45"}, "since"),
        ({"until": "2026-11-16T08:00"}, "needs a UTC offset"),
        ({"compare": "custom"}, "custom comparison needs compare_since and compare_until"),
        ({"compare": "sometimes"}, "compare"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_requests_get_a_clear_message(change, says):
    with pytest.raises(figures.FiguresError, match=None) as exc:
        figures.parse({"indicators": ["events.total"], "areas": ["T01"], **WEEK} | change)
    assert says in str(exc.value)


def test_an_empty_period_and_an_unknown_area_are_refused(rt):
    with pytest.raises(figures.FiguresError, match="must be before"):
        figures.build(rt.db, req(since="2026-11-16", until="2026-11-09"), ANALYST, timezone=TZ)
    with pytest.raises(figures.FiguresError, match="no area with code 'T09'"):
        figures.build(rt.db, req(areas=["T01", "T09"]), ANALYST, timezone=TZ)


def test_a_county_leader_may_not_ask_for_another_county(rt):
    ok = figures.build(rt.db, req(areas=["T01", "T01001"]), LEADER, timezone=TZ, now=NOW)
    assert set(ok.table["area"]) == {"T01", "T01001"}
    for foreign in (["T02"], ["T01", "T02001"], ["T"]):
        with pytest.raises(policy.PolicyDenied, match="outside your scope") as exc:
            figures.build(rt.db, req(areas=foreign), LEADER, timezone=TZ, now=NOW)
        assert "Street 2" not in str(exc.value) and "第2" not in str(exc.value)
    # nor see another county among the choices
    codes = set(figures.area_choices(rt.db, LEADER, search="T02")["code"])
    assert codes and all(c.startswith("T01") for c in codes)
    # a department reads no area figures at all
    with pytest.raises(policy.PolicyDenied):
        figures.build(rt.db, req(), User("d", "department", department="x"), timezone=TZ)


def test_area_choices_find_grid_cells_by_what_is_typed(rt):
    plain = figures.area_choices(rt.db, ANALYST)
    assert set(plain["level"]) == {"city", "county", "township", "community"}
    found = figures.area_choices(rt.db, ANALYST, search="grid 001", keep=["T02001001016"])
    grid = found[found.level == "grid"]
    assert "T02001001016" in set(grid["code"])
    assert {"T01001001001", "T02001001001"} <= set(grid["code"])


def test_the_address_holds_the_request(rt):
    r = req(indicators=["events.total", "cases.opened"], areas=["T01", "T02"], compare="previous")
    query = figures.to_query(r)
    assert query.startswith("?indicators=events.total,cases.opened&areas=T01,T02")
    values, back, problem = figures.from_query(query, TZ, now=NOW)
    assert back == r and problem is None and values["areas"] == ["T01", "T02"]
    # another page's address, or none: the defaults and no request
    values, back, problem = figures.from_query("?county=210302&level=grid", TZ, now=NOW)
    assert back is None and problem is None
    assert (values["since"], values["until"]) == ("2026-11-23", "2026-11-30")
    values, back, _ = figures.from_query("?since=2026-11-01&until=x&compare=custom", TZ, now=NOW)
    assert back is None and (values["since"], values["until"]) == ("2026-11-01", "2026-11-30")
    assert values["compare"] == "previous"
    _, back, problem = figures.from_query("?indicators=nope&areas=T01", TZ, now=NOW)
    assert back is None and "unknown indicator" in problem


def test_the_form_includes_the_last_day():
    r = figures.form_request(["events.total"], "T01", "2026-11-01", "2026-11-30", "previous")
    assert (r.since, r.until, r.areas) == ("2026-11-01", "2026-12-01", ["T01"])
    with pytest.raises(figures.FiguresError, match="first and last day"):
        figures.form_request(["events.total"], ["T01"], None, "2026-11-30", "none")


# --- saved requests --------------------------------------------------------------------------------


def test_saved_requests_are_their_owners(rt):
    mine = figures.save(rt.db, ANALYST, "weekly events", req(compare="previous"))
    theirs = figures.save(rt.db, OTHER, "their request", req(areas=["T02"]))
    assert set(figures.saved(rt.db, ANALYST)["id"]) >= {mine}
    assert theirs not in set(figures.saved(rt.db, ANALYST)["id"])
    assert {mine, theirs} <= set(figures.saved(rt.db, ADMIN)["id"])
    row = figures.saved(rt.db, ANALYST).set_index("id").loc[mine]
    assert row["name"] == "weekly events" and row["request"]["areas"] == ["T01"]
    # run again, and for the next week
    again = figures.saved_request(rt.db, ANALYST, mine, timezone=TZ)
    assert again == req(compare="previous")
    nxt = figures.saved_request(rt.db, ANALYST, mine, timezone=TZ, next_period=True)
    assert (nxt.since, nxt.until) == ("2026-11-16", "2026-11-23")
    # another user's request does not exist for them: not run, not deleted
    with pytest.raises(figures.FiguresError, match="no saved request"):
        figures.saved_request(rt.db, ANALYST, theirs, timezone=TZ)
    assert figures.delete(rt.db, ANALYST, theirs) is False
    assert figures.delete(rt.db, ANALYST, mine) is True
    assert mine not in set(figures.saved(rt.db, ANALYST)["id"])
    # an administrator deletes anyone's
    assert figures.delete(rt.db, ADMIN, theirs) is True
    # a county leader cannot keep a request for another county; a wall account keeps none
    with pytest.raises(policy.PolicyDenied):
        figures.save(rt.db, LEADER, "x", req(areas=["T02"]))
    with pytest.raises(policy.PolicyDenied):
        figures.saved(rt.db, User("w", "wall"))
    with pytest.raises(figures.FiguresError, match="name"):
        figures.save(rt.db, ANALYST, "  ", req())


# --- files -------------------------------------------------------------------------------------


def _figs(rt):
    r = req(
        indicators=["events.total", "events.by_source", "cases.on_time_rate"],
        areas=["T01", "T02"],
        compare="previous",
    )
    return figures.run(rt, ANALYST, r, now=NOW)


def test_excel_holds_the_tables_numbers_and_the_request(rt):
    figs = _figs(rt)
    wb = load_workbook(io.BytesIO(render(figs, "xlsx", lang="en", timezone=TZ)))
    table, request = wb.worksheets
    rows = list(table.iter_rows(values_only=True))
    assert list(rows[0]) == headers(True, "en")
    assert len(rows) - 1 == len(figs.table)
    col = {h: i for i, h in enumerate(rows[0])}
    for got, (_, want) in zip(rows[1:], figs.table.iterrows(), strict=True):
        assert got[col["Area code"]] == want["area"]
        for name, field in (
            ("This period", "value"),
            ("Comparison period", "compare_value"),
            ("Change", "change"),
            ("Change (%)", "change_pct"),
        ):
            assert _same(got[col[name]], want[field]), (name, got, want.to_dict())
    share = next(r for r in table.iter_rows(min_row=2) if r[0].value == "On-time closure rate")
    assert share[col["This period"]].number_format == "0.0%"
    req_rows = dict(request.iter_rows(min_row=2, values_only=True))
    assert "events.total" in req_rows["Indicators"] and "T02" in req_rows["Areas"]
    assert req_rows["Period"] == "9 Nov 2026 to 15 Nov 2026"
    assert req_rows["Comparison period"] == "2 Nov 2026 to 8 Nov 2026"


def test_csv_holds_the_tables_numbers(rt):
    figs = _figs(rt)
    text = render(figs, "csv", lang="zh", timezone=TZ).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == headers(True, "zh")
    vi = rows[0].index("本期")
    for got, want in zip(rows[1:], figs.table["value"], strict=True):
        assert _same(float(got[vi]) if got[vi] else None, want)


def test_word_holds_the_table_the_period_and_the_definitions(rt):
    figs = _figs(rt)
    doc = Document(io.BytesIO(render(figs, "docx", lang="zh", timezone=TZ)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "数据报表" in text and "2026年11月9日 至 2026年11月15日" in text
    for ind in figs.request.indicators:
        assert f"({ind}," in text
    (table,) = doc.tables
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0] == headers(True, "zh")
    shown = display_rows(figs.table, figs.names, "zh")
    vi = cells[0].index("本期")
    for got, want in zip(cells[1:], shown, strict=True):
        assert got[vi] == ("" if want["value"] is None else str(want["value"]))
    # the shown value is the table's, rounded for its unit (a share in per cent)
    for got, (_, raw) in zip(cells[1:], figs.table.iterrows(), strict=True):
        if got[vi]:
            scale = 100 if raw["unit"] == "share" else 1
            assert float(got[vi]) == pytest.approx(raw["value"] * scale, abs=0.051)


def test_every_export_is_checked_and_audited(rt):
    r = req(areas=["T01"], compare="previous")
    name, body = figures.export(
        rt, LEADER, r, "xlsx", lambda f, fmt: render(f, fmt, timezone=TZ), now=NOW
    )
    assert name == "figures-20261109-20261115.xlsx" and body[:2] == b"PK"
    row = rt.db.query_one(
        "SELECT actor, outcome, object_id, detail FROM audit_log WHERE action = 'figures.export' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert row[:3] == ("lead", "ok", "xlsx") and '"T01"' in row[3]
    with pytest.raises(policy.PolicyDenied):
        figures.export(rt, LEADER, req(areas=["T02"]), "csv", lambda f, fmt: b"")
    row = rt.db.query_one(
        "SELECT actor, outcome FROM audit_log WHERE action = 'figures.export' ORDER BY id DESC LIMIT 1"
    )
    assert row == ("lead", "refused")
    with pytest.raises(figures.FiguresError, match="format"):
        figures.export(rt, ANALYST, r, "pdf", lambda f, fmt: b"")


def test_every_indicator_of_the_catalogue_is_offered_under_a_named_domain():
    """A new catalogue entry (a new domain too) shows in the builder's list, in both languages
    (a domain without a name once made the whole list fail)."""
    from layouts.figures_page import indicator_options
    from layouts.i18n import LANGUAGES

    items = figures.indicator_choices()
    assert {i["id"] for i in items} == set(indicators.CATALOGUE)
    assert {i["domain"] for i in items} <= set(figures.DOMAINS)
    for lang in LANGUAGES:
        assert len(indicator_options(items, lang)) == len(items)
