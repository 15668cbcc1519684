"""Warnings engine: each rule kind, the pending period, the lifecycle, escalation, fusion,
the rules file's errors, the screens' queries and the scheduler (tiny region, hand-made events)."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from data.areas import AreaScope
from data.warnings import (
    RulesError,
    WarningActionError,
    WarningScheduler,
    acknowledge,
    clear,
    load_rules,
    parse_rules,
)
from data.warnings import queries as wq
from data.warnings.lifecycle import next_command_level
from data.warnings.statistics import negbin_tail_score
from tests.support.warnings import (
    T0,
    S,
    accidents,
    cell_key,
    engine,
    history_actions,
    ingest,
    minutes,
    rules,
    warnings_df,
)

# --- rules file ------------------------------------------------------------------------------------


def test_default_rules_file_loads():
    rs = load_rules()
    kinds = {r.kind for r in rs.rules}
    assert kinds == {"threshold", "anomaly", "persistence", "cross_domain", "silence"}
    assert rs.fusion


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ('kind = "threshold"', "kind"),  # replaced below by an unknown kind
        ("levels = { blue = 5, yellow = 3 }", "yellow (3) must be above blue (5)"),
        ('sources = ["polise"]', "unknown sources"),
        ('categories = ["nonsense"]', "unknown categories"),
        ("window_min = -1", "window_min"),
        ("colour = 1", "Extra inputs are not permitted"),
    ],
)
def test_rule_errors_name_the_rule(patch, message):
    base = """
[[rule]]
id = "r1"
kind = "threshold"
name_zh = "甲"
name_en = "A"
sources = ["police"]
levels = { blue = 1 }
"""
    if patch.startswith("kind"):
        text = base.replace('kind = "threshold"', 'kind = "crystal_ball"')
    elif patch.startswith("levels"):
        text = base.replace("levels = { blue = 1 }", patch)
    elif patch.startswith("sources"):
        text = base.replace('sources = ["police"]', patch)
    else:
        text = base + patch + "\n"
    with pytest.raises(RulesError) as err:
        parse_rules(text, "test.toml")
    assert "id='r1'" in str(err.value) and message in str(err.value)


def test_rules_file_errors(tmp_path):
    with pytest.raises(RulesError, match="not valid TOML"):
        parse_rules("[[rule]\nid=")
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "missing.toml")
    dup = ('[[rule]]\nid="a"\nkind="threshold"\nname_zh="a"\nname_en="a"\nlevels={blue=1}\n') * 2
    with pytest.raises(RulesError, match="unique"):
        parse_rules(dup)
    with pytest.raises(RulesError, match="exactly one source and one category"):
        parse_rules(
            '[[rule]]\nid="p"\nkind="persistence"\nname_zh="p"\nname_en="p"\n'
            'sources=["environment"]\nlevels={blue=1}\n'
        )
    with pytest.raises(RulesError, match="at least two sources"):
        parse_rules(
            '[[rule]]\nid="c"\nkind="cross_domain"\nname_zh="c"\nname_en="c"\n'
            'sources=["police"]\nlevels={blue=2}\n'
        )


def test_adding_a_rule_of_a_known_kind_needs_no_code(runtime):
    text = """
[[rule]]
id = "market_cell"
kind = "threshold"
name_zh = "市场投诉"
name_en = "Market complaints"
sources = ["market"]
categories = ["complaint"]
window_min = 120
levels = { blue = 2 }
pending = 1
"""
    from data.warnings import WarningEngine

    ingest(runtime, "market", [T0 - minutes(10), T0 - minutes(5)], category="complaint")
    eng = WarningEngine(runtime.db, parse_rules(text))
    res = eng.evaluate(T0)
    assert len(res.raised) == 1
    assert warnings_df(runtime).iloc[0]["rule_id"] == "market_cell"


# --- threshold, pending, lifecycle ---------------------------------------------------------------


def test_threshold_pending_then_raised(runtime):
    accidents(runtime, 3)
    ingest(runtime, "police", [T0 - minutes(2)], cell=(2, 3, 3), category="traffic")
    eng = engine(runtime, ["acc"])
    r1 = eng.evaluate(T0)
    assert len(r1.conditions) == 1 and not r1.raised  # pending 1 of 2
    assert runtime.db.query_one("SELECT hits FROM warning_pending")[0] == 1
    r2 = eng.evaluate(T0 + S)
    assert len(r2.raised) == 1
    w = warnings_df(runtime).iloc[0]
    assert w["area_key"] == cell_key(runtime, 1, 0, 0)
    assert w["level_rank"] == 1 and w["state"] == "raised" and w["value"] == 3
    assert runtime.db.query_one("SELECT count(*) FROM warning_pending")[0] == 0
    assert history_actions(runtime, int(w["id"])) == ["raised"]


def test_pending_condition_that_goes_away_is_never_raised(runtime):
    accidents(runtime, 3, at=T0)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    # 40 minutes later the burst is out of the 30-minute window
    res = eng.evaluate(T0 + minutes(40))
    assert not res.raised and res.conditions.empty
    assert warnings_df(runtime).empty
    assert runtime.db.query_one("SELECT count(*) FROM warning_pending")[0] == 0


def test_many_pending_areas_are_kept_raised_and_dropped_together(runtime):
    """Pending hits of many areas are written, raised and dropped in one evaluation each (they
    are written as one statement per table, not one per area)."""
    raised_cells = [(1, i, 0) for i in range(3)]
    fading_cells = [(1, i, 1) for i in range(3)]
    late_cells = [(1, i, 2) for i in range(2)]
    for cell in raised_cells:
        accidents(runtime, 3, at=T0, cell=cell)
    for cell in fading_cells:  # out of the 30-minute window 8 minutes later
        accidents(runtime, 3, at=T0 - minutes(24), cell=cell)
    eng = engine(runtime, ["acc"])

    def pending():
        rows = runtime.db.query_df("SELECT area_key, hits FROM warning_pending")
        return dict(zip(rows["area_key"], rows["hits"], strict=True))

    assert not eng.evaluate(T0).raised
    keys = {c: cell_key(runtime, *c) for c in raised_cells + fading_cells + late_cells}
    assert pending() == {keys[c]: 1 for c in raised_cells + fading_cells}
    for cell in late_cells:
        accidents(runtime, 3, at=T0 + minutes(8), cell=cell)
    res = eng.evaluate(T0 + minutes(8))
    assert len(res.raised) == 3
    assert set(warnings_df(runtime)["area_key"]) == {keys[c] for c in raised_cells}
    assert pending() == {keys[c]: 1 for c in late_cells}


def test_warnings_raised_and_cleared_together_each_get_their_area_and_history(runtime):
    """Several warnings raised, marked clearing and cleared in one evaluation each (one
    statement per kind of change, not one per warning): each has its own area's ancestors, its
    own history, and its id in the result in the conditions' order."""
    cells = [(1, i, 0) for i in range(3)] + [(2, 0, 1)]
    for cell in cells:
        accidents(runtime, 3, at=T0, cell=cell)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    res = eng.evaluate(T0 + S)
    w = warnings_df(runtime)
    assert len(res.raised) == 4 and res.raised == sorted(res.raised)
    assert sorted(w["id"]) == sorted(res.raised)
    areas = runtime.db.query_df(
        "SELECT key, community_key, township_key, county_key, city_key FROM areas"
    ).set_index("key")
    for _, row in w.iterrows():
        area = areas.loc[row["area_key"]]
        assert row["cell_key"] == row["area_key"] and row["area_level"] == "grid"
        for col in ("community_key", "township_key", "county_key", "city_key"):
            assert row[col] == area[col]
        assert row["state"] == "raised" and row["value"] == 3
        assert history_actions(runtime, int(row["id"])) == ["raised"]
    assert {cell_key(runtime, *c) for c in cells} == set(w["area_key"])
    eng.evaluate(T0 + minutes(31))  # every condition gone: clear since now
    assert warnings_df(runtime)["clear_since"].notna().all()
    res = eng.evaluate(T0 + minutes(41))  # after the 10-minute hold: all cleared
    assert sorted(res.cleared) == sorted(w["id"])
    w = warnings_df(runtime)
    assert (w["state"] == "cleared").all() and (w["cleared_by"] == "system").all()
    assert w["clear_reason"].str.startswith("condition clear for 10 min").all()
    for wid in w["id"]:
        assert history_actions(runtime, int(wid)) == ["raised", "cleared"]


def test_upgrade_and_downgrade_keep_one_warning_with_history(runtime):
    accidents(runtime, 3)
    eng = engine(runtime, ["acc"], escalate_after={"orange": 10**6, "yellow": 10**6})
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    accidents(runtime, 6, at=T0 + minutes(10))  # 9 in the window: orange
    res = eng.evaluate(T0 + minutes(10))
    assert res.upgraded == [wid]
    w = warnings_df(runtime)
    assert len(w) == 1 and w.iloc[0]["level_rank"] == 3
    # at T0+32 min the first 3 have left the window: 6 remain (yellow); 2 evaluations to downgrade
    res = eng.evaluate(T0 + minutes(32))
    assert not res.downgraded and warnings_df(runtime).iloc[0]["level_rank"] == 3
    res = eng.evaluate(T0 + minutes(32) + S)
    assert res.downgraded == [wid]
    assert warnings_df(runtime).iloc[0]["level_rank"] == 2
    rows = runtime.db.query(
        "SELECT action, from_rank, to_rank FROM warning_history WHERE warning_id = ? ORDER BY id",
        [wid],
    )
    assert rows == [("raised", None, 1), ("upgraded", 1, 3), ("downgraded", 3, 2)]


def test_acknowledge_then_auto_clear_after_hold(runtime):
    accidents(runtime, 3)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    acknowledge(runtime.db, wid, "duty officer", "police on the way", now=T0 + minutes(1))
    w = warnings_df(runtime).iloc[0]
    assert w["state"] == "acknowledged" and w["acknowledged_by"] == "duty officer"
    assert w["ack_comment"] == "police on the way"
    with pytest.raises(WarningActionError):
        acknowledge(runtime.db, wid, "someone")
    # condition gone at T0+31 min; hold is 10 minutes
    eng.evaluate(T0 + minutes(31))
    w = warnings_df(runtime).iloc[0]
    assert w["state"] == "acknowledged" and w["clear_since"] is not pd.NaT
    eng.evaluate(T0 + minutes(36))
    assert warnings_df(runtime).iloc[0]["state"] == "acknowledged"
    res = eng.evaluate(T0 + minutes(41))
    assert res.cleared == [wid]
    w = warnings_df(runtime).iloc[0]
    assert w["state"] == "cleared" and w["cleared_by"] == "system"
    assert history_actions(runtime, wid) == ["raised", "acknowledged", "cleared"]


def test_condition_returning_during_hold_keeps_the_warning(runtime):
    accidents(runtime, 3)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    eng.evaluate(T0 + minutes(31))  # clear_since set
    accidents(runtime, 3, at=T0 + minutes(35))
    eng.evaluate(T0 + minutes(35))
    w = warnings_df(runtime)
    assert len(w) == 1 and w.iloc[0]["state"] == "raised" and pd.isna(w.iloc[0]["clear_since"])


def test_manual_clear_needs_a_reason_and_is_not_raised_again_while_condition_holds(runtime):
    accidents(runtime, 3)
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    with pytest.raises(WarningActionError, match="reason"):
        clear(runtime.db, wid, "analyst", "  ")
    clear(runtime.db, wid, "analyst", "duplicate of a case", now=T0 + minutes(1))
    w = warnings_df(runtime).iloc[0]
    assert w["state"] == "cleared" and w["clear_reason"] == "duplicate of a case"
    for k in range(4):
        eng.evaluate(T0 + minutes(1) + k * S)
    assert len(warnings_df(runtime)) == 1  # suppressed while the same condition holds
    eng.evaluate(T0 + minutes(40))  # condition gone: suppression ends
    accidents(runtime, 3, at=T0 + minutes(60))
    eng.evaluate(T0 + minutes(60))
    eng.evaluate(T0 + minutes(60) + S)
    w = warnings_df(runtime)
    assert len(w) == 2 and w.iloc[1]["state"] == "raised"
    assert history_actions(runtime, wid) == ["raised", "cleared"]


def test_escalation_up_the_command_levels(runtime):
    accidents(runtime, 3)
    eng = engine(
        runtime, ["acc"], escalate_after=dict.fromkeys(("blue", "yellow", "orange", "red"), 600)
    )
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    accidents(runtime, 3, at=T0 + minutes(9))  # keep the condition alive
    assert not eng.evaluate(T0 + minutes(9)).escalated
    res = eng.evaluate(T0 + S + minutes(10))
    assert res.escalated == [wid]
    w = warnings_df(runtime).iloc[0]
    assert w["escalated_to"] == "community" and w["state"] == "raised"
    scope = AreaScope("city", 1)
    assert wq.counts_by_colour(runtime.db, scope)["escalated"] == 1
    assert [e["id"] for e in wq.escalations(runtime.db, scope)] == [wid]
    accidents(runtime, 3, at=T0 + minutes(20))
    res = eng.evaluate(T0 + S + minutes(20))
    assert res.escalated == [wid]
    assert warnings_df(runtime).iloc[0]["escalated_to"] == "township"
    acknowledge(runtime.db, wid, "township head", "")
    accidents(runtime, 3, at=T0 + minutes(29))
    assert not eng.evaluate(T0 + S + minutes(30)).escalated
    assert wq.escalations(runtime.db, scope) == []
    acts = [a for a in history_actions(runtime, wid) if a != "upgraded"]
    assert acts == ["raised", "escalated", "escalated", "acknowledged"]
    assert next_command_level("grid") == "community"
    assert next_command_level("county") == "city"
    assert next_command_level("city") is None


# --- anomaly ---------------------------------------------------------------------------------------


def test_negbin_tail_score():
    # with a long history it approaches the Poisson tail: P(X >= 10 | 2) = 4.65e-5
    assert negbin_tail_score(10, 2.0 * 400, 400) == pytest.approx(4.33, abs=0.03)
    assert negbin_tail_score(3, 8, 4) < negbin_tail_score(8, 8, 4) < negbin_tail_score(15, 8, 4)
    # less history, more doubt: a smaller score for the same counts
    assert negbin_tail_score(10, 2.0, 1) < negbin_tail_score(10, 8.0, 4)
    assert negbin_tail_score(0, 5, 4) == 0.0


def _weekly_history(rt, per_hour, cell=(1, 0, 0)):
    for w in range(1, 5):
        at = T0 - pd.Timedelta(days=7 * w)
        times = [at - minutes(50 * (i + 1) / (per_hour + 1)) for i in range(per_hour)]
        if times:
            ingest(rt, "hotline", times, cell=cell, category="utilities")
    # something in the oldest bucket so the store's history reaches back 4 weeks
    ingest(rt, "police", [T0 - pd.Timedelta(days=29)], cell=(2, 3, 3), category="other")


def test_anomaly_against_the_same_hour_of_past_weeks(runtime):
    _weekly_history(runtime, 1)
    ingest(runtime, "hotline", [T0 - minutes(i * 4) for i in range(12)], category="utilities")
    eng = engine(runtime, ["surge"])
    res = eng.evaluate(T0)
    assert len(res.conditions) == 1
    c = res.conditions.iloc[0]
    comm = runtime.db.query_one("SELECT key FROM areas WHERE code = 'T01001001'")[0]
    assert c["area_key"] == comm and c["value"] == 12 and c["baseline"] == pytest.approx(1.0)
    assert c["rank"] >= 1 and json.loads(c["detail"])["score"] >= 4
    eng.evaluate(T0 + S)
    w = warnings_df(runtime).iloc[0]
    assert w["area_level"] == "community" and pd.isna(w["cell_key"])


def test_anomaly_not_raised_when_the_hour_is_always_busy(runtime):
    _weekly_history(runtime, 12)
    ingest(runtime, "hotline", [T0 - minutes(i * 4) for i in range(12)], category="utilities")
    assert engine(runtime, ["surge"]).conditions(T0).empty


def test_anomaly_needs_history(runtime):
    ingest(runtime, "hotline", [T0 - minutes(i * 4) for i in range(12)], category="utilities")
    assert engine(runtime, ["surge"]).conditions(T0).empty


# --- persistence -----------------------------------------------------------------------------------


def _readings(rt, values, station="S1", cell=(1, 2, 2), end=T0, category="pm25"):
    n = len(values)
    for i, v in enumerate(values):
        at = end.floor("h") - pd.Timedelta(hours=n - 1 - i) + minutes(2)
        ingest(
            rt,
            "environment",
            [at],
            cell=cell,
            category=category,
            value=v,
            attrs={"station": station},
        )


def test_persistence_levels_by_the_k_hour_minimum(runtime):
    _readings(runtime, [40, 160, 170, 155], station="S1", cell=(1, 2, 2))  # orange
    _readings(runtime, [90, 100, 80], station="S2", cell=(1, 3, 3))  # blue
    _readings(runtime, [300, 300], station="S3", cell=(2, 0, 0))  # too short
    _readings(runtime, [300, 20, 300, 300], station="S4", cell=(2, 1, 1))  # broken run
    _readings(runtime, [300, 300, 300], station="S5", cell=(2, 2, 2), category="pm10")
    cond = engine(runtime, ["pm25"]).conditions(T0 + minutes(10))
    got = {r.subject: (r.rank, r.value, r.area_key) for r in cond.itertuples()}
    assert set(got) == {"S1", "S2"}
    assert got["S1"][:2] == (3, 155) and got["S1"][2] == cell_key(runtime, 1, 2, 2)
    assert got["S2"][:2] == (1, 80)


def test_persistence_needs_fresh_readings(runtime):
    _readings(runtime, [200, 200, 200], end=T0)
    assert engine(runtime, ["pm25"]).conditions(T0 + pd.Timedelta(hours=3)).empty


def test_persistence_rises_and_clears(runtime):
    _readings(runtime, [200, 200, 200, 60], end=T0 + pd.Timedelta(hours=1))
    eng = engine(runtime, ["pm25"])
    raised = eng.evaluate(T0 + minutes(10)).raised
    assert len(raised) == 1  # pending 1 in the test rules
    # the next hour's reading (60) breaks the run: cleared (hold 0)
    assert eng.evaluate(T0 + minutes(70)).cleared == raised
    assert warnings_df(runtime).iloc[0]["cleared_by"] == "system"


# --- cross-domain, silence ----------------------------------------------------------------------


def test_cross_domain(runtime):
    for src, cat in (("police", "dispute"), ("hotline", "noise"), ("market", "complaint")):
        ingest(runtime, src, [T0 - minutes(5), T0 - minutes(15)], category=cat)
    # a second cell: three domains but only one report each
    for src, cat in (("police", "dispute"), ("hotline", "noise"), ("market", "complaint")):
        ingest(runtime, src, [T0 - minutes(5)], cell=(2, 1, 1), category=cat)
    # congestion readings do not make traffic "active"
    ingest(runtime, "traffic", [T0 - minutes(3), T0 - minutes(4)], category="congestion", value=5)
    cond = engine(runtime, ["multi"]).conditions(T0)
    assert len(cond) == 1
    assert cond.iloc[0]["area_key"] == cell_key(runtime, 1, 0, 0) and cond.iloc[0]["value"] == 3
    ingest(runtime, "traffic", [T0 - minutes(3), T0 - minutes(4)], category="accident")
    cond = engine(runtime, ["multi"]).conditions(T0)
    assert cond.iloc[0]["rank"] == 2 and cond.iloc[0]["value"] == 4


def test_feed_silence(runtime):
    ingest(runtime, "police", [T0 - minutes(12)], category="other", now=T0 - minutes(12))
    ingest(runtime, "hotline", [T0 - minutes(1)], category="other", now=T0 - minutes(1))
    cond = engine(runtime, ["silent"]).conditions(T0)
    assert list(cond["subject"]) == ["police"]
    assert cond.iloc[0]["rank"] == 2  # 12 min silent, limit 5 min: > 2x
    # a silent environment feed is not watched by this rule; market never sent anything
    eng = engine(runtime, ["silent"])
    eng.evaluate(T0)
    w = warnings_df(runtime).iloc[0]
    assert w["subject"] == "police" and w["area_level"] == "city"
    ingest(runtime, "police", [T0 + minutes(1)], category="other", now=T0 + minutes(1))
    assert (
        len(
            eng.evaluate(
                T0
                + minutes(
                    1,
                )
            ).cleared
        )
        == 1
    )


def test_feed_silence_ignored_when_history_says_quiet(runtime):
    text = rules(["silent"]).rule[0].model_copy(update={"min_expected": 3.0})
    from data.warnings import WarningEngine
    from data.warnings.rules import RuleSet

    # 4 weeks of history in which the police feed sent one event around this hour
    for w in range(1, 5):
        ingest(runtime, "police", [T0 - pd.Timedelta(days=7 * w) - minutes(30)], category="other")
    ingest(runtime, "police", [T0 - minutes(12)], category="other", now=T0 - minutes(12))
    eng = WarningEngine(runtime.db, RuleSet(rule=[text]), stale_after=300)
    assert eng.conditions(T0).empty
    # busy history: the same silence is a warning
    for w in range(1, 5):
        ingest(
            runtime,
            "police",
            [T0 - pd.Timedelta(days=7 * w) - minutes(m) for m in range(1, 9)],
            category="other",
        )
    assert list(eng.conditions(T0)["subject"]) == ["police"]


# --- fusion ----------------------------------------------------------------------------------------


def test_fusion_groups_reports_of_one_accident(runtime):
    a = ingest(runtime, "police", [T0 - minutes(20)], category="traffic")
    b = ingest(runtime, "traffic", [T0 - minutes(15)], category="accident")
    c = ingest(runtime, "hotline", [T0 - minutes(10)], category="traffic")
    ingest(runtime, "hotline", [T0 - minutes(10)], cell=(2, 0, 0), category="traffic")  # alone
    ingest(runtime, "police", [T0 - minutes(100)], category="traffic")  # an earlier one, alone
    eng = engine(runtime, [])
    res = eng.evaluate(T0)
    assert res.incidents == 1
    inc = runtime.db.query_df("SELECT * FROM incidents")
    assert len(inc) == 1 and inc.iloc[0]["sources"] == "hotline,police,traffic"
    assert inc.iloc[0]["n_reports"] == 3 and inc.iloc[0]["cell_key"] == cell_key(runtime, 1, 0, 0)
    links = {r[0] for r in runtime.db.query("SELECT source_event_id FROM incident_events")}
    assert links == {*a, *b, *c}
    # a later report of the same accident joins it; evaluating again adds nothing twice
    d = ingest(runtime, "police", [T0 + minutes(2)], category="traffic")
    eng.evaluate(T0 + minutes(3))
    eng.evaluate(T0 + minutes(4))
    assert runtime.db.query_one("SELECT count(*), sum(n_reports) FROM incidents") == (1, 4)
    assert d[0] in {r[0] for r in runtime.db.query("SELECT source_event_id FROM incident_events")}
    scope = AreaScope("city", 1)
    got = wq.incidents(runtime.db, scope, since=T0 - pd.Timedelta(hours=1))
    assert len(got) == 1 and len(got[0]["reports"]) == 4
    assert wq.incidents(runtime.db, AreaScope("county", 3), since=T0 - pd.Timedelta(hours=9)) == []


# --- queries for the screens -----------------------------------------------------------------------


def test_queries_for_the_screens(runtime):
    accidents(runtime, 9)  # orange in county 1
    accidents(runtime, 3, cell=(2, 1, 1))  # blue in county 2
    eng = engine(runtime, ["acc"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    city = AreaScope("city", 1)
    counts = wq.counts_by_colour(runtime.db, city)
    assert counts["orange"] == 1 and counts["blue"] == 1 and counts["total"] == 2
    assert counts["unacknowledged"] == 2
    county2 = runtime.db.query_one("SELECT key FROM areas WHERE code = 'T02'")[0]
    c2 = AreaScope("county", county2)
    assert wq.counts_by_colour(runtime.db, c2)["total"] == 1
    assert [w["level"] for w in wq.list_warnings(runtime.db, city)] == ["orange", "blue"]
    assert len(wq.list_warnings(runtime.db, city, levels=["blue"])) == 1
    assert len(wq.list_warnings(runtime.db, city, area_code="T02")) == 1
    assert wq.list_warnings(runtime.db, city, rules=["other"]) == []
    assert wq.list_warnings(runtime.db, city, states=["cleared"]) == []
    orange = wq.list_warnings(runtime.db, city, levels=["orange"])[0]
    assert orange["area_code"] == "T01001001001"
    assert wq.red_orange_cells(runtime.db, city) == [cell_key(runtime, 1, 0, 0)]
    assert wq.red_orange_cells(runtime.db, c2) == []
    assert [w["id"] for w in wq.newest(runtime.db, c2)] == [
        w["id"] for w in wq.list_warnings(runtime.db, c2)
    ]
    # detail: evidence series against the limits, the events behind it, the history
    d = wq.warning_detail(runtime.db, city, orange["id"], rules(["acc"]), now=T0 + S)
    assert d["series"]["values"][-1] == 9 and d["series"]["limits"]["orange"] == 8
    assert len(d["series"]["times"]) == 24
    assert len(d["events"]) == 9 and {e["source"] for e in d["events"]} == {"police"}
    assert [h["action"] for h in d["history"]] == ["raised"]
    assert wq.warning_detail(runtime.db, c2, orange["id"], rules(["acc"])) is None


def test_anomaly_detail_has_a_baseline(runtime):
    _weekly_history(runtime, 1)
    ingest(runtime, "hotline", [T0 - minutes(i * 4) for i in range(12)], category="utilities")
    eng = engine(runtime, ["surge"])
    eng.evaluate(T0)
    eng.evaluate(T0 + S)
    wid = int(warnings_df(runtime).iloc[0]["id"])
    d = wq.warning_detail(runtime.db, AreaScope("city", 1), wid, rules(["surge"]), now=T0 + S)
    assert d["series"]["values"][-1] == 12 and d["series"]["baseline"][-1] == pytest.approx(1.0)


# --- scheduler and runtime -------------------------------------------------------------------------


def test_scheduler_runs_periodically_and_on_demand(runtime):
    accidents(runtime, 3, at=pd.Timestamp.now(tz="UTC") - minutes(1))
    eng = engine(runtime, ["acc"])
    sched = WarningScheduler(eng, interval_s=0.2)
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while sched.runs < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sched.runs >= 3 and sched.last_error is None
    finally:
        sched.stop()
    assert not sched.running
    assert len(warnings_df(runtime)) == 1
    n = sched.runs
    sched.run_now()
    assert sched.runs == n + 1


def test_runtime_evaluates_on_demand(runtime):
    assert runtime.warnings is not None  # built from data/rules.toml
    res = runtime.evaluate_warnings(T0)
    assert res.now == T0


def test_every_rule_kind_has_one_condition_builder():
    """The engine finds each kind's builder in the registry; a kind without one would fail late."""
    from data.warnings.conditions import CONDITIONS
    from data.warnings.rules import KINDS

    assert sorted(CONDITIONS) == sorted(KINDS)
