"""Backtest (the real engine over stored history, nothing written), the learning state, and the
rules page's data side: edit one rule's TOML, save atomically, engine reloaded, audited; the CLI.
Tiny region, hand-made events on a real DuckDB file."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from cli import main as cli_main
from data import audit
from data.auth import User
from data.policy import PolicyDenied
from data.warnings import editing, load_rules, parse_rules
from data.warnings.backtest import BacktestError, backtest
from data.warnings.learning import learning_state
from data.warnings.rules import DEFAULT_RULES
from tests.support.warnings import SURGE_TABLE, T0, hotline_surge, ingest, rules

ADMIN = User("boss", "admin")
ANALYST = User("ana", "analyst")


def test_backtest_finds_the_surge_with_the_real_engine_and_writes_nothing(runtime):
    hotline_surge(runtime)
    before = runtime.db.query_one("SELECT count(*) FROM warnings")[0]
    res = backtest(
        runtime.db,
        rules(["surge"]),
        T0 - pd.Timedelta(hours=3),
        T0 + pd.Timedelta(hours=1),
        step=pd.Timedelta(minutes=5),
    )
    assert len(res.warnings) == 1
    w = res.warnings.iloc[0]
    assert w["rule_id"] == "surge" and w["area_level"] == "community"
    assert w["baseline"] == pytest.approx(1.0) and w["value"] >= 10
    assert res.per_level["blue"] + res.per_level["yellow"] + res.per_level["orange"] >= 1
    assert res.per_rule == {"surge": 1}
    assert res.per_area().iloc[0]["n"] == 1 and len(res.examples()) == 1
    assert res.evaluations == 49 and res.history_days > 27
    cells = runtime.db.query_one("SELECT count(*) FROM areas WHERE level = 'grid'")[0]
    assert res.per_1000_cells_day == pytest.approx(1 / (cells / 1000) / (4 / 24))
    # the store's own warnings are untouched: the backtest ran on a scratch copy
    assert runtime.db.query_one("SELECT count(*) FROM warnings")[0] == before == 0


def test_backtest_of_a_quiet_period_raises_nothing(runtime):
    hotline_surge(runtime)
    res = backtest(
        runtime.db,
        rules(["surge"]),
        T0 - pd.Timedelta(days=2),
        T0 - pd.Timedelta(days=1),
        step=pd.Timedelta(minutes=30),
    )
    assert res.warnings.empty and res.per_1000_cells_day == 0


@pytest.mark.parametrize(
    ("since", "until", "step", "message"),
    [
        (T0, T0 - pd.Timedelta(hours=1), None, "must end after"),
        (T0, T0 + pd.Timedelta(days=90), None, "at most"),
        (T0, T0 + pd.Timedelta(hours=1), pd.Timedelta(seconds=5), "step"),
    ],
)
def test_backtest_refuses_a_bad_period_or_step(runtime, since, until, step, message):
    with pytest.raises(BacktestError, match=message):
        backtest(runtime.db, rules(["surge"]), since, until, step=step)


def test_learning_state_counts_days_of_history(runtime):
    rs = rules(["surge"])
    assert learning_state(runtime.db, rs)["days"] == 0  # a new city: learning, 0 days
    ingest(runtime, "hotline", [T0 - pd.Timedelta(days=3)], category="utilities")
    ingest(runtime, "hotline", [T0], category="utilities")
    st = learning_state(runtime.db, rs, T0)
    assert st["learning"] and st["days"] == pytest.approx(3.0, abs=0.01)
    assert st["needed_days"] == 28 and not st["judging"] and st["rules"] == ["surge"]
    ingest(runtime, "hotline", [T0 - pd.Timedelta(days=10)], category="utilities")
    st = learning_state(runtime.db, rs, T0)
    assert st["learning"] and st["judging"]
    ingest(runtime, "hotline", [T0 - pd.Timedelta(days=30)], category="utilities")
    assert not learning_state(runtime.db, rs, T0)["learning"]
    # the complete state is kept (no more scans of the counts on each wall refresh)
    assert [k for k in runtime.db.memo if isinstance(k, tuple) and k[0] == "learning_complete"]
    assert learning_state(runtime.db, rules(["acc"]), T0) is None  # no rule learns
    # the shipped rules: feeds never connected (police, traffic, market) keep nobody learning
    shipped = learning_state(runtime.db, load_rules(), T0)
    assert not shipped["learning"] and shipped["days"] == pytest.approx(30.0, abs=0.01)


# --- editing: one rule's table, saved atomically, engine reloaded, audited -----------------------


@pytest.fixture
def editable(tmp_path, tiny_region_dir):
    from tests.support.stores import tiny_runtime

    path = tmp_path / "rules.toml"
    shutil.copy(DEFAULT_RULES, path)
    rt = tiny_runtime(tmp_path, tiny_region_dir, warnings_rules=str(path))
    yield rt, path
    rt.stop()


def test_rule_text_and_saving_one_rule_keeps_the_rest_of_the_file(editable):
    rt, path = editable
    old = path.read_text(encoding="utf-8")
    view = editing.rules_view(rt)
    assert [r["id"] for r in view["rules"]] == [r.id for r in load_rules(path).rule]
    table = view["tables"]["police_above_usual"]
    assert table.startswith("[[rule]]") and 'id = "police_above_usual"' in table
    done = editing.save_rule(rt, ADMIN, table.replace("min_count = 6", "min_count = 9"))
    assert done == {"rule_id": "police_above_usual", "created": False, "path": str(path)}
    new = path.read_text(encoding="utf-8")
    assert new.replace("min_count = 9", "min_count = 6", 1) == old  # only that line changed
    assert rt.warnings.rules.get("police_above_usual").min_count == 9  # engine reloaded
    rows = audit.trail_view(rt.db, action="rules.save", period="all")["rows"]
    assert list(rows["object_id"]) == ["police_above_usual"] and list(rows["actor"]) == ["boss"]


def test_a_new_rule_is_added_after_the_last_rule(editable):
    rt, path = editable
    assert parse_rules(editing.NEW_RULE).rule[0].id == "new_rule"  # the page's template is valid
    table = view_new = (
        '[[rule]]\nid = "streets_surge"\nkind = "anomaly"\nname_zh = "街"\nname_en = "Streets"\n'
        'sources = ["hotline"]\narea_level = "township"\nwindow_min = 1440\n'
        "levels = { blue = 3 }\n"
    )
    done = editing.save_rule(rt, ADMIN, view_new)
    assert done["created"] and done["rule_id"] == "streets_surge"
    rs = load_rules(path)
    assert rs.rule[-1].id == "streets_surge" and len(rs.fusion) == 2
    assert rt.warnings.rules.get("streets_surge") is not None
    assert table.count("[[rule]]") == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[[rule]]\nid = 'x'\nkind = 'threshold'\n", "name_zh"),
        ("[[rule]\nid = 'x'", "not valid TOML"),
        ("", "exactly one"),
        (
            "[[rule]]\nid='a'\nkind='threshold'\nname_zh='a'\nname_en='a'\nlevels={blue=5,yellow=3}"
            "\n[[rule]]\nid='b'\nkind='threshold'\nname_zh='b'\nname_en='b'\nlevels={blue=1}\n",
            "yellow",
        ),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_is_written(editable, table, message):
    rt, path = editable
    old = path.read_text(encoding="utf-8")
    with pytest.raises(editing.RuleEditError, match=message):
        editing.save_rule(rt, ADMIN, table)
    assert path.read_text(encoding="utf-8") == old
    assert sorted(p.name for p in path.parent.glob("*.toml")) == ["rules.toml"]  # no temp left


def test_only_administrators_edit_or_backtest(editable):
    rt, path = editable
    table = editing.rules_view(rt)["tables"]["police_above_usual"]
    with pytest.raises(PolicyDenied):
        editing.save_rule(rt, ANALYST, table)
    with pytest.raises(PolicyDenied):
        editing.backtest_rule(rt, ANALYST, table, "2026-05-01", "2026-05-02")


def test_backtest_view_for_the_page(editable):
    rt, _path = editable
    hotline_surge(rt)
    text = SURGE_TABLE
    day = T0.tz_convert(rt.timezone).date().isoformat()
    view = editing.backtest_view(rt, ADMIN, text, day, day, 5)
    assert view["summary"]["warnings"] == 1 and view["per_area"][0]["n"] == 1
    assert view["examples"][0]["rule_id"] == "surge"
    with pytest.raises(editing.RuleEditError, match="first and the last day"):
        editing.backtest_view(rt, ADMIN, text, "", day, 5)


def test_cli_backtest_prints_the_figures(tmp_path, tiny_region_dir, capsys):
    from tests.support.stores import tiny_runtime

    rt = tiny_runtime(tmp_path, tiny_region_dir)
    hotline_surge(rt)
    rt.stop()
    cfg = tmp_path / "og.toml"
    rfile = tmp_path / "r.toml"
    from tests.support.warnings import RULES

    rfile.write_text(RULES, encoding="utf-8")
    cfg.write_text(
        f'db = "{tmp_path / "o.duckdb"}"\nregion = "{tiny_region_dir}"\n', encoding="utf-8"
    )
    day = T0.tz_convert("Asia/Shanghai").date().isoformat()
    args = ["--config", str(cfg), "backtest", "--rules", str(rfile), "--rule", "surge"]
    code = cli_main([*args, "--since", day, "--until", day, "--step", "5"], serve=None)
    out = capsys.readouterr().out
    assert code == 0 and "warnings: 1" in out and "per_rule: {'surge': 1}" in out
    code = cli_main([*args, "--since", day, "--until", "2020-01-01"], serve=None)
    assert code == 2 and "must end after" in capsys.readouterr().err
    assert cli_main([*args[:-1], "nope", "--since", day, "--until", day], serve=None) == 2


# --- where the operator looks: the API, the warnings page, the wall's panel; the page's guard ------


def test_learning_state_in_the_api_page_and_panel(runtime):
    from app import create_app
    from data.warnings import desk
    from data.warnings import queries as wq
    from layouts.warnings_page import counts_line
    from layouts.warnings_panel import warnings_panel
    from tests.support.web import sign_in

    ingest(runtime, "hotline", [T0 - pd.Timedelta(days=2), T0], category="utilities")
    client = create_app(runtime=runtime).server.test_client()
    sign_in(client, runtime)
    body = client.get("/api/warnings").get_json()
    assert body["count"] == 0 and body["learning"]["learning"]
    assert body["learning"]["days"] == pytest.approx(2.0, abs=0.01)
    view = desk.list_view(runtime, runtime.scope, {})
    line = str(counts_line(view["counts"], "en", view["learning"]))
    assert "Learning: 2.0 days of history" in line
    summary = wq.wall_summary(runtime.db, runtime.scope, runtime.warnings.rules)
    panel = warnings_panel(
        summary["counts"], [], [], "zh", learning=summary["learning"], timezone="UTC"
    )
    assert "学习中：已有 2.0 天历史数据" in str(panel)
    # once the history covers every learning rule's weeks, the state goes away
    ingest(runtime, "hotline", [T0 - pd.Timedelta(days=40)], category="utilities")
    assert not client.get("/api/warnings").get_json()["learning"]["learning"]
    assert "Learning" not in str(counts_line(view["counts"], "en", None))


def test_rules_page_is_for_administrators_only(runtime):
    from app import create_app
    from tests.support.web import open_page, sign_in

    app = create_app(runtime=runtime)
    client = app.server.test_client()
    sign_in(client, runtime, "ana", "analyst")
    assert "rules-text" not in open_page(app, client, "/rules")
    admin = app.server.test_client()
    sign_in(admin, runtime, "boss", "admin")
    assert "rules-text" in open_page(app, admin, "/rules")
