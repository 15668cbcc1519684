"""The /warnings page's callbacks (called directly) and the wall's warnings panel."""

from __future__ import annotations

import pandas as pd

from callbacks import warnings_page as cb
from data.areas import AreaScope
from data.warnings import WarningEngine, load_rules
from data.warnings import queries as wq
from layouts.i18n import TRANSLATIONS
from layouts.warnings_page import evidence_figure, page
from layouts.warnings_panel import warnings_panel
from tests.support.warnings import T0, ingest

S = pd.Timedelta(seconds=30)


def _raise_accident_warning(rt, cell=(1, 0, 0), n=5, escalate=None):
    ingest(
        rt,
        "police",
        [T0 - pd.Timedelta(minutes=k) for k in range(n)],
        cell=cell,
        category="traffic",
    )
    rt.warnings = WarningEngine(rt.db, load_rules(), escalate_after=escalate)
    rt.warnings.evaluate(T0)
    rt.warnings.evaluate(T0 + S)


def _text(component) -> str:
    """All text inside a component tree."""
    out = []

    def walk(c):
        if c is None:
            return
        if isinstance(c, str | int | float):
            out.append(str(c))
            return
        if isinstance(c, list | tuple):
            for x in c:
                walk(x)
            return
        walk(getattr(c, "children", None))

    walk(component)
    return " ".join(out)


def test_translations_cover_both_languages():
    zh = {k for k in TRANSLATIONS["zh"] if k.startswith("warn.")}
    en = {k for k in TRANSLATIONS["en"] if k.startswith("warn.")}
    assert zh == en and len(zh) > 50


def test_list_detail_and_actions(runtime):
    _raise_accident_warning(runtime)
    scope = AreaScope("city", 1)
    rows = cb.list_rows(runtime, scope, {"states": ["raised", "acknowledged"]}, "zh")
    assert len(rows) == 1
    r = rows[0]
    assert r["level_label"] == "蓝色预警" and r["rule_label"] == "网格交通事故集中"
    assert r["state_label"] == "待签收" and r["area_label"] == "网格001"
    en = cb.list_rows(runtime, scope, {}, "en")[0]
    assert (
        en["rule_label"] == "Traffic accidents clustered in a cell"
        and en["state_label"] == "Raised"
    )
    assert cb.list_rows(runtime, scope, {"levels": ["red"]}, "zh") == []
    assert cb.list_rows(runtime, scope, {"area": "T02"}, "zh") == []
    v = cb.detail_view(runtime, scope, r["id"], "zh")
    assert v["can_ack"] and v["can_clear"] and v["can_dispatch"] and len(v["events"]) == 5
    assert v["events"][0]["source_label"] == "110警情"
    assert [h["action_label"] for h in v["history"]] == ["发布"]
    assert len(v["figure"].data) == 5  # observed + 4 level lines
    # clear without a reason is refused; acknowledge works; the list shows the new state
    assert cb.run_action(runtime, scope, "clear", r["id"], "analyst", " ", "zh") == (
        "手动解除须填写原因"
    )
    assert cb.run_action(runtime, scope, "ack", r["id"], "值班员", "已派警", "zh") == (
        f"预警 {r['id']} 已签收"
    )
    assert cb.list_rows(runtime, scope, {}, "zh")[0]["state_label"] == "已签收"
    v = cb.detail_view(runtime, scope, r["id"], "zh")
    assert not v["can_ack"] and [h["actor"] for h in v["history"]] == ["系统", "值班员"]
    assert cb.run_action(runtime, scope, "clear", r["id"], "analyst", "duplicate", "en") == (
        f"Warning {r['id']} cleared"
    )
    active = {"states": ["raised", "acknowledged"]}  # the page's default filter
    assert cb.list_rows(runtime, scope, active, "zh") == []
    assert len(cb.list_rows(runtime, scope, {"states": ["cleared"]}, "zh")) == 1
    # outside the user's scope: nothing to see, nothing to do
    county2 = AreaScope("county", runtime.db.query_one("SELECT key FROM areas WHERE code='T02'")[0])
    outside = cb.detail_view(runtime, county2, r["id"], "zh")
    assert outside["events"] == [] and not outside["can_dispatch"]
    assert cb.run_action(runtime, county2, "ack", r["id"], "x", "", "zh") == (
        "操作未完成：预警状态已变化，请刷新"
    )


def test_page_and_empty_figure_render():
    assert _text(page("zh"))
    assert len(evidence_figure(None, "en").data) == 0
    fig = evidence_figure(
        {
            "times": ["2026-06-01T00:00:00+00:00", "2026-06-01T01:00:00+00:00"],
            "values": [1, 9],
            "baseline": [1.0, 1.5],
            "limits": {},
        },
        "en",
    )
    assert [t.name for t in fig.data] == ["Observed", "Baseline (same hour, past weeks)"]


def test_wall_panel_shows_counts_newest_and_escalations(runtime):
    _raise_accident_warning(
        runtime, escalate=dict.fromkeys(("blue", "yellow", "orange", "red"), 60)
    )
    runtime.warnings.evaluate(T0 + 5 * S)  # not acknowledged for 2 minutes: escalated
    s = wq.wall_summary(runtime.db, AreaScope("city", 1), runtime.warnings.rules)
    assert s["counts"]["blue"] == 1 and s["counts"]["escalated"] == 1
    assert s["escalations"][0]["escalated_to"] == "community"
    assert s["cells"] == []  # blue: not marked on the map
    panel = warnings_panel(
        s["counts"], s["newest"], s["escalations"], "zh", timezone="Asia/Shanghai"
    )
    text = _text(panel)
    assert (
        "蓝色预警" in text and "网格交通事故集中" in text and "超时未签收，已上报社区（村）" in text
    )
    assert "og-warn-has-escalations" in panel.className
    en = _text(warnings_panel(s["counts"], s["newest"], s["escalations"], "en"))
    assert "Escalated to Community / village" in en.replace("escalated to", "Escalated to")
    quiet = warnings_panel({"blue": 0}, [], [], "en")
    assert "No active warnings" in _text(quiet) and "og-warn-has-escalations" not in quiet.className


def test_red_and_orange_cells_for_the_map(runtime):
    _raise_accident_warning(runtime, cell=(2, 1, 1), n=9)  # orange
    s = wq.wall_summary(runtime.db, AreaScope("city", 1), runtime.warnings.rules)
    key = runtime.db.query_one("SELECT key FROM areas WHERE code = 'T02001001006'")[0]
    assert s["cells"] == [key]
    assert wq.map_cells(runtime.db, AreaScope("city", 1))[0]["level"] == "orange"


def test_warnings_engine_starts_once_under_concurrent_requests(settings):
    """The page's callbacks start the warnings engine lazily (settings without warnings): several
    request threads asking at once get one and the same engine, through the runtime's public,
    locked method (a callback once called the private initialiser without a lock)."""
    import threading

    from data.runtime import Runtime

    rt = Runtime(settings.model_copy(update={"warnings": False}))
    try:
        assert rt.warnings is None
        barrier = threading.Barrier(8)
        got: list = []

        def ask():
            barrier.wait()
            got.append((cb._rules(rt), rt.ensure_warnings()))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(got) == 8
        assert all(engine is rt.warnings for _rules, engine in got)
        assert all(rules is rt.warnings.rules for rules, _engine in got)
        assert rt.warning_scheduler is not None
    finally:
        rt.stop()


def test_list_and_detail_times_are_local_and_per_language(runtime):
    """The same raise time, in the region's zone (Asia/Shanghai), written each language's way."""
    from layouts.i18n import format_moment

    _raise_accident_warning(runtime)
    scope = AreaScope("city", 1)
    zh = cb.list_rows(runtime, scope, {}, "zh")[0]
    en = cb.list_rows(runtime, scope, {}, "en")[0]
    local = pd.Timestamp(zh["raised_at"]).tz_convert("Asia/Shanghai")
    assert zh["raised_label"] == f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    assert en["raised_label"] == f"{local.day} {local:%b %Y}, {local:%H:%M}"
    detail = cb.detail_view(runtime, scope, zh["id"], "en")
    assert detail["history"][0]["time_label"] == format_moment(
        zh["raised_at"], "Asia/Shanghai", "en"
    )
