"""Editing the rules file from the rules page (``/rules``, administrators): one rule's ``[[rule]]``
table as TOML text, a backtest of it over stored history before it is saved, and the save itself.

Saving replaces that rule's table in the file's text (comments and the other tables stay as they
are), validates the whole file as the engine will read it, writes it atomically (a temporary file
in the same folder, fsynced, then renamed over the old one), hands the new rules to the running
engine and records the change in the audit trail. A rule that does not validate is refused with
the loader's message and nothing is written.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd

from data import audit, policy
from data.catalogue import DEFAULT_CATALOGUE, Catalogue
from data.files import write_atomic
from data.times import local_midnight
from data.warnings.backtest import BacktestError, BacktestResult, backtest
from data.warnings.rules import DEFAULT_RULES, RulesError, RuleSet, parse_rules

# a starting point for a new rule (the editor then changes it)
NEW_RULE = """[[rule]]
id = "new_rule"
kind = "anomaly"
name_zh = "新规则"
name_en = "New rule"
sources = ["police"]
area_level = "township"
window_min = 1440
weeks = 4
min_count = 6
levels = { blue = 3, yellow = 4, orange = 5.5, red = 7 }
"""

_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(rule|fusion)[ \t]*\]\]", re.MULTILINE)


class RuleEditError(ValueError):
    """A rule edit refused (bad TOML, an invalid rule, a period that cannot run), worded for the
    person editing."""


def rules_path(settings) -> Path:
    """The rules file the running engine reads (the ``warnings_rules`` setting, else the default)."""
    return Path(settings.warnings_rules) if settings.warnings_rules else DEFAULT_RULES


def _segments(text: str) -> list[tuple[int, int, str, str | None]]:
    """(start, end, table kind, rule id) of each ``[[rule]]`` / ``[[fusion]]`` table in ``text``;
    a table ends at its last key line (comments and blank lines after it belong to what follows)."""
    heads = list(_HEADER.finditer(text))
    out = []
    for i, m in enumerate(heads):
        start = m.start()
        stop = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        lines = text[start:stop].splitlines(keepends=True)
        keep = len(lines)
        while keep > 1 and (
            not lines[keep - 1].strip() or lines[keep - 1].lstrip().startswith("#")
        ):
            keep -= 1
        body = "".join(lines[:keep])
        rid = None
        if m.group(1) == "rule":
            try:
                items = tomllib.loads(body).get("rule") or [{}]
                rid = items[0].get("id")
            except tomllib.TOMLDecodeError:
                rid = None
        out.append((start, start + len(body), m.group(1), rid))
    return out


def rule_text(text: str, rule_id: str) -> str | None:
    """The ``[[rule]]`` table of ``rule_id`` as it stands in the rules file's ``text``."""
    for start, end, kind, rid in _segments(text):
        if kind == "rule" and rid == rule_id:
            return text[start:end].rstrip("\n") + "\n"
    return None


def parse_one(table: str, catalogue: Catalogue = DEFAULT_CATALOGUE) -> RuleSet:
    """A rules file holding only ``table`` (one ``[[rule]]``), validated against ``catalogue``
    (the deployment's sources); :class:`RuleEditError` when it is not exactly one valid rule."""
    try:
        rs = parse_rules(table, "the rule being edited", catalogue)
    except RulesError as exc:
        raise RuleEditError(str(exc)) from exc
    if len(rs.rule) != 1 or rs.fusion:
        raise RuleEditError("give exactly one [[rule]] table (no [[fusion]])")
    return rs


def with_rule(
    text: str, table: str, catalogue: Catalogue = DEFAULT_CATALOGUE
) -> tuple[str, str, bool]:
    """The rules file's ``text`` with ``table`` in place of the rule of the same id (or added
    after the last rule when the id is new); returns (new text, rule id, created)."""
    one = parse_one(table, catalogue).rule[0]
    table = table.strip("\n") + "\n"
    segs = _segments(text)
    for start, end, kind, rid in segs:
        if kind == "rule" and rid == one.id:
            return text[:start] + table + text[end:], one.id, False
    rules = [s for s in segs if s[2] == "rule"]
    at = rules[-1][1] if rules else len(text)
    new = text[:at].rstrip("\n") + "\n\n" + table + text[at:]
    return new, one.id, True


def save_rule(rt, user, table: str, *, address: str | None = None) -> dict:
    """Save ``table`` (one ``[[rule]]``) into the running engine's rules file and reload the
    engine; administrators only (``rules_edit``). Returns ``{"rule_id", "created", "path"}``.

    Raises :class:`RuleEditError` (nothing written) when the rule or the resulting file is
    invalid, :class:`data.policy.PolicyDenied` for anyone else.
    """
    policy.require(user, "rules_edit")
    path = rules_path(rt.settings)
    old = path.read_text(encoding="utf-8")
    new, rule_id, created = with_rule(old, table, rt.catalogue)
    try:
        ruleset = parse_rules(new, str(path), rt.catalogue)
    except RulesError as exc:
        raise RuleEditError(str(exc)) from exc
    write_atomic(path, new)
    engine = rt.ensure_warnings()
    engine.rules = ruleset
    audit.record(
        rt.db,
        getattr(user, "username", str(user)),
        "rules.save",
        object_type="rule",
        object_id=rule_id,
        address=address,
        detail={"created": created, "path": str(path), "rule": table},
    )
    return {"rule_id": rule_id, "created": created, "path": str(path)}


def backtest_rule(rt, user, table: str, since_day, until_day, step_min: float = 10.0):
    """Backtest ``table`` (one ``[[rule]]``, saved or not) over the days ``since_day`` ..
    ``until_day`` (inclusive, the region's calendar) with the real engine; administrators only.
    Returns the :class:`~data.warnings.backtest.BacktestResult`."""
    policy.require(user, "rules_edit")
    one = parse_one(table, rt.catalogue)
    if not since_day or not until_day:
        raise RuleEditError("choose the first and the last day of the period")
    try:
        since = local_midnight(since_day, rt.timezone)
        until = local_midnight(pd.Timestamp(until_day) + pd.Timedelta(days=1), rt.timezone)
        step = pd.Timedelta(minutes=float(step_min or 10))
    except (ValueError, TypeError) as exc:
        raise RuleEditError(f"bad period or step: {exc}") from exc
    engine = rt.ensure_warnings()
    try:
        return backtest(rt.db, one, since, until, step=step, stale_after=engine.stale_seconds)
    except BacktestError as exc:
        raise RuleEditError(str(exc)) from exc


def result_view(res: BacktestResult) -> dict:
    """A backtest's result as plain values for the page: ``summary``, ``per_area`` and
    ``examples`` records."""
    ex = res.examples()
    cols = ["rule_id", "area_level", "name_zh", "name_en", "subject", "top_rank", "value"]
    examples = ex[[*cols, "baseline", "raised_at", "cleared_at"]].astype(object)
    examples = examples.where(examples.notna(), None).to_dict("records")
    per_area = res.per_area().astype(object)
    return {
        "summary": res.summary(),
        "per_area": per_area.where(per_area.notna(), None).to_dict("records"),
        "examples": examples,
    }


def rules_view(rt) -> dict:
    """The rules page's list: ``rules`` (records: id, kind, name_zh, name_en, area_level,
    window_min, enabled, in the file's order) and ``tables`` (id -> its ``[[rule]]`` text as it
    stands in the file)."""
    path = rules_path(rt.settings)
    text = path.read_text(encoding="utf-8")
    ruleset = parse_rules(text, str(path), rt.catalogue)
    rules = [
        {
            "id": r.id,
            "kind": r.kind,
            "name_zh": r.name_zh,
            "name_en": r.name_en,
            "area_level": r.area_level,
            "window_min": r.window_min,
            "enabled": r.enabled,
        }
        for r in ruleset.rule
    ]
    return {"rules": rules, "tables": {r.id: rule_text(text, r.id) for r in ruleset.rule}}


def backtest_view(rt, user, table: str, since_day, until_day, step_min: float = 10.0) -> dict:
    """:func:`backtest_rule` as the page shows it (:func:`result_view`)."""
    return result_view(backtest_rule(rt, user, table, since_day, until_day, step_min))
