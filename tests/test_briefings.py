"""Briefings through the real command (``app.py briefing``): each format is written, read back
(python-docx for Word, Debian's pdftotext for PDF, the HTML text) and every number in the text
equals the indicator catalogue's value for the same area and period."""

from __future__ import annotations

import io
import subprocess

import pandas as pd
import pytest
from docx import Document

import cli
from data import indicators
from data.areas import scope_for_code
from data.times import calendar_period, previous_period
from tests.support import figures
from tests.support.figures import TZ
from tests.support.reading import read_back, tagged
from tests.support.stores import tiny_runtime


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_region_dir):
    """A closed store file with known data (the command opens it like any other command)."""
    tmp = tmp_path_factory.mktemp("briefings")
    rt = tiny_runtime(tmp, tiny_region_dir)
    figures.build(rt)
    rt.stop()
    return tmp, tiny_region_dir


@pytest.fixture
def env(store, monkeypatch):
    tmp, region = store
    monkeypatch.setenv("ONEGRID_DB", str(tmp / "o.duckdb"))
    monkeypatch.setenv("ONEGRID_REGION", str(region))
    monkeypatch.setenv("ONEGRID_SIMULATOR", "off")
    monkeypatch.setenv("ONEGRID_USERS_FILE", str(tmp / "u.toml"))
    return tmp


def _run(*argv) -> int:
    return cli.main(list(argv), serve=lambda a: 1)


def catalogue(db, ind, code, since, until, **kw) -> pd.DataFrame:
    return indicators.compute(db, ind, scope_for_code(db, code), since, until, **kw)


def check_numbers(tmp, text: str, code: str, period: str, day: str) -> None:
    """The numbers tagged in ``text`` are the catalogue's for ``code`` and the period."""
    got = tagged(text)
    since, until = calendar_period(period, day, TZ)
    prev = previous_period(period, since, TZ)
    last = previous_period(period, since, TZ, years=1)
    from data.store import Database

    db = Database(tmp / "o.duckdb")
    try:

        def one(ind, s=since, u=until):
            return float(catalogue(db, ind, code, s, u)["value"].iloc[0])

        total = [one("events.total"), one("events.total", *prev), one("events.total", *last)]
        assert got["events.total"][:3] == total
        assert total[0] > 0
        src = catalogue(db, "events.by_source", code, since, until)
        assert sorted(got["events.by_source"]) == sorted(v for v in src["value"] if v)
        for ind in ("cases.opened", "cases.closed", "cases.overdue_open", "cases.reworked"):
            assert got[ind] == [one(ind)], ind
        assert got["cases.returns"] == [one("cases.returns")]
        assert got["cases.on_time_rate"][0] == pytest.approx(
            100 * one("cases.on_time_rate"), abs=0.051
        )
        assert got["cases.median_close_hours"][0] == pytest.approx(
            one("cases.median_close_hours"), abs=0.051
        )
        assert got["events.per_10k"][0] == pytest.approx(one("events.per_10k"), abs=0.051)
        effect = catalogue(db, "cases.effect", code, since, until)["value"].iloc[0]
        if pd.notna(effect):  # stated as a rise or fall in percent
            assert got["cases.effect"] == [pytest.approx(abs(100 * effect), abs=0.051)]
        raised = catalogue(db, "warnings.raised", code, since, until).set_index("key")["value"]
        assert got["warnings.raised"][0] == raised.sum()
        order = [raised[lv] for lv in ("red", "orange", "yellow", "blue") if raised[lv]]
        assert got["warnings.raised"][1:] == order
        ack = catalogue(db, "warnings.acknowledged_in_time", code, since, until)
        assert got["warnings.acknowledged_in_time"] == [ack["value"].sum()]
        top = catalogue(db, "hotline.top_subjects", code, since, until)["value"].head(5)
        assert got["hotline.top_subjects"] == list(top)
    finally:
        db.close()


@pytest.mark.parametrize(
    "fmt, lang, code, period, day",
    [
        ("pdf", "zh", "T", "week", "2026-11-18"),
        ("docx", "zh", "T", "month", "2026-11-05"),
        ("html", "zh", "T01", "day", "2026-11-18"),
        ("docx", "en", "T02", "week", "2026-11-18"),
        ("pdf", "en", "T01", "month", "2026-11-30"),
    ],
)
def test_a_briefing_states_the_catalogues_numbers(env, fmt, lang, code, period, day):
    out = env / f"b-{code}-{period}.{fmt}"
    args = ["briefing", "--period", period, "--date", day, "--area", code]
    assert _run(*args, "--lang", lang, "--format", fmt, "--out", str(out)) == 0
    text = read_back(out)
    if fmt == "pdf":  # a number's tag is never cut across lines
        assert all(line.count("[") == line.count("]") for line in text.splitlines())
    if lang == "zh":
        assert {"week": "周报", "month": "月报", "day": "日报"}[period] in text
        assert "按时办结率" in text and "附录" in text
    else:
        assert "briefing" in text and "Appendix" in text
    check_numbers(env, text, code, period, day)


def test_the_pdf_embeds_its_chinese_font(env):
    out = env / "city.pdf"
    assert (
        _run(
            "briefing",
            "--period",
            "day",
            "--date",
            "2026-11-20",
            "--format",
            "pdf",
            "--out",
            str(out),
        )
        == 0
    )
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, check=True).stdout
    rows = [r for r in fonts.decode().splitlines()[2:] if r.strip()]
    assert rows and all(" yes " in r for r in rows), fonts  # embedded (a subset)
    assert "测试市城市运行日报" in read_back(out)


def test_a_county_briefing_names_no_other_county(env):
    out = env / "t01.html"
    assert (
        _run(
            "briefing",
            "--period",
            "month",
            "--date",
            "2026-11-01",
            "--area",
            "T01",
            "--format",
            "html",
            "--out",
            str(out),
        )
        == 0
    )
    text = read_back(out)
    assert "第1社区" in text and "第2社区" not in text and "第2区" not in text


def test_the_appendix_defines_every_indicator_shown(env):
    out = env / "def.docx"
    assert (
        _run(
            "briefing",
            "--period",
            "week",
            "--date",
            "2026-11-18",
            "--format",
            "docx",
            "--out",
            str(out),
        )
        == 0
    )
    text = read_back(out)
    from layouts.i18n import t

    for ind in set(tagged(text)):
        assert t(f"indicator.{ind}.definition", "zh") in text, ind


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--date", "2026-11-31"], "not a date"),
        (["--area", "NOPE"], "no area"),
    ],
)
def test_bad_arguments_fail_with_the_reason(env, capsys, argv, message):
    base = {
        "--period": "day",
        "--date": "2026-11-18",
        "--format": "html",
        "--out": str(env / "x.html"),
    }
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    args = [x for kv in base.items() for x in kv]
    assert _run("briefing", *args) == 2
    assert message in capsys.readouterr().err
    assert not (env / "x.html").exists()


def test_unknown_period_is_refused_by_the_parser(env):
    with pytest.raises(SystemExit) as exc:
        _run(
            "briefing",
            "--period",
            "year",
            "--date",
            "2026-11-18",
            "--format",
            "pdf",
            "--out",
            str(env / "y.pdf"),
        )
    assert exc.value.code == 2


def test_no_year_on_year_comparison_without_last_years_history(env):
    """The store's history starts in mid-October 2025: a week of late October 2025 has no year
    before."""
    out = env / "early.html"
    argv = ["briefing", "--period", "week", "--date", "2025-10-27", "--format", "html"]
    assert _run(*argv, "--out", str(out)) == 0
    text = read_back(out)
    assert "去年同期" not in text
    total, _before, *communities = tagged(text)["events.total"]
    # this week, the week before, then the communities' counts (no year-ago figure between)
    assert communities and sum(communities) == total > 0


def test_no_comparison_with_a_period_the_store_does_not_reach_back_to(env):
    """The store's first event is on 12 or 13 October 2025: the week of 13-19 October has no
    complete week before it, so the briefing states its total without a week-on-week change
    (a store that began last week would otherwise read as a surge)."""
    out = env / "first-week.html"
    argv = ["briefing", "--period", "week", "--date", "2025-10-13", "--format", "html"]
    from data.store import Database

    db = Database(env / "o.duckdb")
    try:
        first = pd.Timestamp(db.query_one("SELECT min(event_time) FROM events")[0])
    finally:
        db.close()
    assert first > pd.Timestamp("2025-10-06", tz=TZ)  # after the previous week began
    assert _run(*argv, "--out", str(out)) == 0
    text = read_back(out)
    assert "不作环比" in text and "上周为" not in text
    assert "暂无法判断" in text  # nor can a cell stand out against a usual it does not have
    total, *communities = tagged(text)["events.total"]
    assert sum(communities) == total


def test_the_map_is_darker_where_there_are_more_events(tiny_region):
    """Drawn from the region's polygons: the east county (ten times the events) in the ramp's
    darkest colour, the west one in its lightest."""
    from PIL import Image

    from reports.map_image import RAMP, render_map

    png = render_map(tiny_region.areas, {"T01001001": 10, "T02001001": 100})
    img = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = img.size
    mid = (20 + h - 70) // 2  # halfway down the map (20 px margin above, legend below)
    assert img.getpixel((w // 4, mid)) == RAMP[0]
    assert img.getpixel((3 * w // 4, mid)) == RAMP[-1]


def test_every_format_carries_the_map(env):
    for fmt in ("docx", "pdf", "html"):
        out = env / f"map.{fmt}"
        argv = ["briefing", "--period", "week", "--date", "2026-11-18", "--format", fmt]
        assert _run(*argv, "--out", str(out)) == 0
        if fmt == "docx":
            assert len(Document(str(out)).inline_shapes) == 1
        elif fmt == "pdf":
            listing = subprocess.run(["pdfimages", "-list", str(out)], capture_output=True)
            assert len(listing.stdout.decode().splitlines()) >= 3  # two header lines, an image
        else:
            assert 'src="data:image/png;base64,' in out.read_text(encoding="utf-8")


def test_a_cell_far_above_its_own_usual_stands_out_and_a_usual_one_does_not(
    tmp_path, tiny_region_dir
):
    """Four weeks of one event a day in two cells, then 12 in one of them on the day: the
    briefing names that cell with its count and its usual (1 a day), and not the other."""
    from data import briefings
    from data.catalogue import CATEGORIES
    from reports.compose import compose, plain
    from tests.support.region import tiny_cell_center, tiny_cell_code

    rt = tiny_runtime(tmp_path, tiny_region_dir)
    try:
        day = pd.Timestamp("2026-11-20", tz=TZ)
        rows = []
        for d in range(1, 30):  # 29 days: the store reaches back past the usual's 28
            for cell in ((1, 0, 0), (2, 1, 1)):
                rows.append((day - pd.Timedelta(days=d) + pd.Timedelta(hours=10), cell))
        rows += [(day + pd.Timedelta(hours=8, minutes=m), (1, 0, 0)) for m in range(12)]
        rows.append((day + pd.Timedelta(hours=9), (2, 1, 1)))
        lonlat = [tiny_cell_center(*cell) for _, cell in rows]
        frame = pd.DataFrame(
            {
                "id": [f"e{i}" for i in range(len(rows))],
                "time": pd.to_datetime([t for t, _ in rows], utc=True),
                "lon": [p[0] for p in lonlat],
                "lat": [p[1] for p in lonlat],
                "category": CATEGORIES["police"][0],
                "severity": 3,
                "value": None,
                "text": None,
            }
        )
        got = rt.pipeline.ingest_frame("police", frame, feed="test", now=day + pd.Timedelta(days=2))
        assert got.accepted == len(rows)
        b = briefings.build(rt.db, rt.scope, period="day", day="2026-11-20", timezone=TZ)
        assert [c["code"] for c in b.standing_out] == [tiny_cell_code(1, 0, 0)]
        cell = b.standing_out[0]
        assert cell["figure"].value == 12 and cell["usual"].value == pytest.approx(1.0)
        for lang in ("zh", "en"):
            doc = compose(b, lang)
            text = "\n".join(plain(block.segments) for block in doc.blocks)
            numbers = tagged(text)
            assert 12 in numbers["events.total"] and numbers["events.usual"] == [1.0]
        assert "events.usual" in b.used
    finally:
        rt.stop()
