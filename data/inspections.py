"""Targeted inspection lists (精准督查): where the data says an inspection should go.

"Respond when there is a matter, do not disturb when there is none": for an area scope (the
reader's, from the policy), a period and a level (the counties, townships or communities inside
the scope, or the departments working its cases), each entity's evidence is gathered, and each
piece that reaches its threshold (settings ``inspect_*``) becomes a *reason* with a code, its
figures and the threshold it reached:

- ``overdue``: cases open past their deadline at the end of the period (indicator
  ``cases.overdue_at_end`` / ``cases.department_overdue_at_end``);
- ``reworked``: cases opened in the period sent back for rework (``cases.reworked`` /
  ``cases.department_reworked``);
- ``returns``: returns to the hall (``cases.returns`` / ``cases.department_returns``);
- ``repeat_complaints`` (areas): places or businesses complained about again and again in the
  period: 12345 requests with the same address text, or (without an address) in the same grid
  cell about the same subject, and hotline or market-supervision complaints naming the same
  business; each counted place reached ``inspect_repeat_min``;
- ``unacknowledged`` (areas): warnings left unacknowledged past their escalation time
  (``warnings.unacknowledged_late``);
- ``risk`` (areas): the risk index of the period against the area's own 4 weeks before
  (``risk.index``) at or above ``inspect_risk_above``;
- ``feed_silent`` (areas): a source that reports in the area steadily (for at least a week of
  the 4 weeks before the end, on three days in four) has been silent there for
  ``inspect_silent_hours`` at the end of the period although its usual rate expected at least
  ``inspect_silent_expected`` events in that time.

Score (the list's order): the sum over an entity's reasons of weight x min(figure / threshold,
5): weights overdue 3, unacknowledged 3, repeat_complaints 2, risk 2, reworked 2, returns 1,
feed_silent 1 (for the risk index the figure is how far above 100 it is, against how far the
threshold is). Ties go by code. An entity with no reason whose on-time rate is at least
``inspect_exempt_on_time`` (or that had no case due) and with nothing overdue is *exempt* this
period, with those figures as the why. Figures come from the indicator catalogue wherever it has
them, so one figure has one definition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from data import indicators
from data.areas import LEVEL_COLUMN, AreaScope
from data.store import Database
from data.times import local_midnight, to_py, utc, utc_now

LEVELS: tuple[str, ...] = ("county", "township", "community", "department")
REASONS: tuple[str, ...] = (
    "overdue",
    "unacknowledged",
    "repeat_complaints",
    "risk",
    "reworked",
    "returns",
    "feed_silent",
)
WEIGHTS = {
    "overdue": 3.0,
    "unacknowledged": 3.0,
    "repeat_complaints": 2.0,
    "risk": 2.0,
    "reworked": 2.0,
    "returns": 1.0,
    "feed_silent": 1.0,
}
RATIO_CAP = 5.0  # one reason never counts more than five times its weight
BASELINE = pd.Timedelta(weeks=4)  # a source's usual rate in an area (as risk.index's baseline)
STEADY_DAYS = 7  # a source reporting in an area for at least this long can fall silent there
BUCKET = pd.Timedelta(minutes=5)  # cell_counts' bucket: a source's last event ends with it
# market-supervision categories that are complaints about a business (not enquiries/inspections)
MARKET_COMPLAINTS = ("complaint", "violation_report", "food_safety")
PLACES_SHOWN = 3  # repeated places named per reason


class InspectionError(ValueError):
    """A request that cannot be answered (bad level or period); the message says why."""


@dataclass(frozen=True)
class Thresholds:
    """What each reason must reach (settings ``inspect_*``)."""

    overdue: int = 1
    reworked: int = 2
    returns: int = 2
    repeat_complaints: int = 3
    unacknowledged: int = 1
    risk: float = 150.0
    silent_hours: float = 24.0
    silent_expected: float = 5.0
    exempt_on_time: float = 0.9

    @classmethod
    def from_settings(cls, s) -> Thresholds:
        """The thresholds configured in :class:`data.settings.Settings`."""
        return cls(
            overdue=s.inspect_overdue_min,
            reworked=s.inspect_reworked_min,
            returns=s.inspect_returns_min,
            repeat_complaints=s.inspect_repeat_min,
            unacknowledged=s.inspect_unacknowledged_min,
            risk=s.inspect_risk_above,
            silent_hours=s.inspect_silent_hours,
            silent_expected=s.inspect_silent_expected,
            exempt_on_time=s.inspect_exempt_on_time,
        )


def default_period(timezone: str, now=None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last 7 local days: from the local midnight six days before today until now."""
    now = utc_now(now)
    today = now.tz_convert(timezone).tz_localize(None).normalize()
    return local_midnight(today - pd.Timedelta(days=6), timezone), now


def check(level: str, since, until, now=None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period as UTC (``until`` no later than ``now``: nothing later is evidence yet);
    :class:`InspectionError` for an unknown level or an empty period."""
    if level not in LEVELS:
        raise InspectionError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    s, u = utc(since), min(utc(until), utc_now(now))
    if s >= u:
        raise InspectionError(f"since ({s.isoformat()}) must be before until ({u.isoformat()})")
    return s, u


def _reason(code: str, value: float, threshold: float, **figures) -> dict:
    """One reason: its code, figures (``value`` first), threshold and share of the score."""
    # the risk index: how far above usual (100), against how far the threshold is
    risk = code == "risk"
    ratio = (value - 100.0) / (threshold - 100.0) if risk else value / threshold
    score = WEIGHTS[code] * min(ratio, RATIO_CAP)
    return {
        "code": code,
        "value": value,
        "threshold": threshold,
        "figures": figures,
        "score": round(score, 2),
    }


def _by_key(df: pd.DataFrame, key: str = "area") -> dict:
    """An indicator frame as {entity: value} (dimension members for department figures)."""
    col = "key" if key == "key" else "area"
    return {k: v for k, v in zip(df[col], df["value"], strict=True) if pd.notna(v)}


def build(
    db: Database,
    scope: AreaScope,
    *,
    level: str = "county",
    since=None,
    until=None,
    now=None,
    timezone: str = "UTC",
    thresholds: Thresholds | None = None,
    escalate_after: dict[str, float] | None = None,
    departments: dict[str, dict[str, str]] | None = None,
) -> dict:
    """The inspection list of ``scope`` for ``[since, until)`` (default: the last 7 local days)
    at ``level``: ``entries`` (ranked, each with its reasons), ``exempt`` (with why) and
    ``notes`` (codes of evidence that could not be weighed: ``risk_no_baseline``).

    ``departments``: department id -> names (``zh``, ``en``) for the department level.
    Raises :class:`InspectionError` (or :class:`data.indicators.IndicatorError`) for a bad
    argument, such as a level above the scope's.
    """
    now = utc_now(now)
    if since is None or until is None:
        d_since, d_until = default_period(timezone, now)
        since = d_since if since is None else since
        until = d_until if until is None else until
    since, until = check(level, since, until, now)
    th = thresholds or Thresholds()
    kw = {"now": now, "escalate_after": escalate_after}
    # evidence that could not be weighed, so that its absence is not read as good news
    risk = level != "department" and has_baseline(db, since)
    notes = [] if level == "department" or risk else ["risk_no_baseline"]
    if level == "department":
        entities, reasons, good = _departments(db, scope, since, until, th, kw, departments or {})
    else:
        entities, reasons, good = _areas(db, scope, level, since, until, th, kw, risk=risk)
    listed, exempt = [], []
    for ent in entities:
        rs = reasons.get(ent["entity"], [])
        if rs:
            rs = sorted(rs, key=lambda r: (-r["score"], REASONS.index(r["code"])))
            listed.append({**ent, "score": round(sum(r["score"] for r in rs), 2), "reasons": rs})
        elif ent["entity"] in good:
            exempt.append({**ent, "why": good[ent["entity"]]})
    listed.sort(key=lambda e: (-e["score"], e["entity"]))
    for i, e in enumerate(listed, 1):
        e["rank"] = i
    return {
        "level": level,
        "since": since,
        "until": until,
        "thresholds": asdict(th),
        "entries": listed,
        "exempt": exempt,
        "notes": notes,
    }


def has_baseline(db: Database, since) -> bool:
    """Whether the store's history reaches back over the whole risk baseline (the 4 weeks
    before ``since``): without it every area's risk index reads far above usual, so the risk
    reason is not given (the list's ``notes`` say ``risk_no_baseline``)."""
    first = db.query_one("SELECT min(bucket) FROM cell_counts")[0]
    return first is not None and utc(first) <= utc(since) - BASELINE


def _good(on_time, overdue: int, cases: int, th: Thresholds) -> list[dict] | None:
    """Why an entity without reasons is exempt, or None when its figures are not good enough."""
    if overdue:
        return None
    if on_time is None or pd.isna(on_time):
        return [{"code": "no_cases_due", "figures": {}}, {"code": "no_overdue", "figures": {}}]
    if on_time < th.exempt_on_time:
        return None
    return [
        {
            "code": "on_time",
            "figures": {"on_time_rate": float(on_time), "cases": int(cases)},
            "threshold": th.exempt_on_time,
        },
        {"code": "no_overdue", "figures": {}},
    ]


def _areas(db, scope, level, since, until, th: Thresholds, kw, *, risk: bool) -> tuple:
    def ind(ind_id: str) -> pd.DataFrame:
        return indicators.compute(db, ind_id, scope, since, until, by=level, **kw)

    overdue = ind("cases.overdue_at_end")
    entities = [
        {
            "entity": r["area"],
            "kind": "area",
            "level": r["level"],
            "name_zh": r["name_zh"],
            "name_en": r["name_en"],
        }
        for r in overdue.to_dict("records")
    ]
    at = indicators.areas_at(db, scope, level)
    key_of = {int(k): c for k, c in zip(at["area_key"], at["area"], strict=True)}
    reasons: dict[str, list[dict]] = {}

    def add(code: str, r: dict) -> None:
        reasons.setdefault(code, []).append(r)

    overdue_n = _by_key(overdue)
    for code, n in overdue_n.items():
        if n >= th.overdue:
            add(code, _reason("overdue", int(n), th.overdue, cases=int(n)))
    for code, n in _by_key(ind("cases.reworked")).items():
        if n >= th.reworked:
            add(code, _reason("reworked", int(n), th.reworked, cases=int(n)))
    for code, n in _by_key(ind("cases.returns")).items():
        if n >= th.returns:
            add(code, _reason("returns", int(n), th.returns, returns=int(n)))
    late = ind("warnings.unacknowledged_late")
    late = late.groupby("area")["value"].sum()
    for code, n in late.items():
        if n >= th.unacknowledged:
            add(code, _reason("unacknowledged", int(n), th.unacknowledged, warnings=int(n)))
    if risk:
        for code, r in _by_key(ind("risk.index")).items():
            if r >= th.risk:
                add(code, _reason("risk", float(r), th.risk, risk=float(r), usual=100.0))
    group = LEVEL_COLUMN[level]
    places = repeated_places(db, scope, group, since, until, th.repeat_complaints)
    for key, g in places.groupby("area_key"):
        code = key_of.get(int(key))
        if code is None:
            continue
        top = g.head(PLACES_SHOWN)
        add(
            code,
            _reason(
                "repeat_complaints",
                int(g["n"].max()),
                th.repeat_complaints,
                places=len(g),
                complaints=int(g["n"].sum()),
                top=[
                    {"kind": k, "place": p, "category": c, "complaints": int(n)}
                    for k, p, c, n in zip(
                        top["kind"], top["place"], top["category"], top["n"], strict=True
                    )
                ],
            ),
        )
    silent = silent_sources(db, scope, group, until, th)
    for key, g in silent.groupby("area_key"):
        code = key_of.get(int(key))
        if code is None:
            continue
        add(
            code,
            _reason(
                "feed_silent",
                float(g["silent_h"].max()),
                th.silent_hours,
                sources=g["source"].tolist(),
                hours=round(float(g["silent_h"].max()), 1),
                expected=round(float(g["expected"].max()), 1),
            ),
        )
    on_time = _by_key(ind("cases.on_time_rate"))
    opened = _by_key(ind("cases.opened"))
    good = {}
    for e in entities:
        c = e["entity"]
        why = _good(on_time.get(c), int(overdue_n.get(c, 0)), int(opened.get(c, 0)), th)
        if why:
            good[c] = why
    return entities, reasons, good


def _departments(db, scope, since, until, th: Thresholds, kw, names: dict) -> tuple:
    def ind(ind_id: str) -> dict:
        return _by_key(indicators.compute(db, ind_id, scope, since, until, **kw), "key")

    overdue = ind("cases.department_overdue_at_end")
    reworked = ind("cases.department_reworked")
    returns = ind("cases.department_returns")
    on_time = ind("cases.department_on_time_rate")
    opened = ind("cases.department_opened")
    ids = sorted(set(overdue) | set(reworked) | set(returns) | set(opened))
    entities = [
        {
            "entity": d,
            "kind": "department",
            "level": "department",
            "name_zh": names.get(d, {}).get("zh", d),
            "name_en": names.get(d, {}).get("en", d),
        }
        for d in ids
    ]
    reasons: dict[str, list[dict]] = {}
    for d in ids:
        rs = []
        if overdue.get(d, 0) >= th.overdue:
            n = int(overdue[d])
            rs.append(_reason("overdue", n, th.overdue, cases=n))
        if reworked.get(d, 0) >= th.reworked:
            n = int(reworked[d])
            rs.append(_reason("reworked", n, th.reworked, cases=n))
        if returns.get(d, 0) >= th.returns:
            n = int(returns[d])
            rs.append(_reason("returns", n, th.returns, returns=n))
        if rs:
            reasons[d] = rs
    good = {}
    for d in ids:
        why = _good(on_time.get(d), int(overdue.get(d, 0)), int(opened.get(d, 0)), th)
        if why:
            good[d] = why
    return entities, reasons, good


def repeated_places(
    db: Database, scope: AreaScope, group: str, since, until, minimum: int
) -> pd.DataFrame:
    """Places and businesses complained about at least ``minimum`` times in ``[since, until)``
    inside ``scope``, per area of the ``group`` column: columns area_key, kind (``address``,
    ``cell`` or ``business``), place (the address text as written, lower-cased with spaces
    collapsed; the grid cell's code; the business id), category (for a cell: the subject),
    n; most complained about first.

    Address text and business come from the event's attributes (``address``, ``business``); a
    hotline request without an address counts by its grid cell and subject, since a cell holds
    many unrelated matters."""
    if group not in LEVEL_COLUMN.values():
        raise InspectionError(f"unknown area column {group!r}")
    where, params = scope.where("e")
    market = ",".join("?" * len(MARKET_COMPLAINTS))
    return db.query_df(
        f"""
        WITH ev AS (
            SELECT e.{group} AS area_key, e.source, e.category, e.cell_key,
                   nullif(regexp_replace(lower(trim(
                       json_extract_string(e.attributes, '$.address'))), '\\s+', ' ', 'g'), '')
                       AS address,
                   nullif(trim(json_extract_string(e.attributes, '$.business')), '') AS business
            FROM events e
            WHERE {where} AND e.event_time >= ? AND e.event_time < ?
              AND (e.source = 'hotline' OR (e.source = 'market' AND e.category IN ({market})))
        ),
        places AS (
            SELECT area_key, 'address' AS kind, address AS place, NULL AS category,
                   count(*) AS n
            FROM ev WHERE source = 'hotline' AND address IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT ev.area_key, 'cell', g.code, ev.source || '.' || ev.category, count(*)
            FROM ev JOIN areas g ON g.key = ev.cell_key
            WHERE ev.source = 'hotline' AND ev.address IS NULL AND ev.business IS NULL
            GROUP BY ALL
            UNION ALL
            SELECT area_key, 'business', business, NULL, count(*)
            FROM ev WHERE business IS NOT NULL GROUP BY ALL
        )
        SELECT area_key, kind, place, category, n FROM places WHERE n >= ?
        ORDER BY area_key, n DESC, kind, place
        """,
        [*params, to_py(since), to_py(until), *MARKET_COMPLAINTS, int(minimum)],
    )


def silent_sources(
    db: Database, scope: AreaScope, group: str, until, th: Thresholds
) -> pd.DataFrame:
    """Sources gone silent in an area at ``until``.

    A source counts as reporting steadily in an area when, within the :data:`BASELINE` before
    ``until``, its events there span at least :data:`STEADY_DAYS` days and fall on at least
    three days in four of that span (a burst of incidents that ended is not a feed). It is
    silent when the hours since its last event there are at least ``th.silent_hours`` and its
    rate over that span times those hours is at least ``th.silent_expected`` events that did
    not come. Columns area_key, source, last (the end of its last 5-minute bucket), silent_h,
    expected."""
    if group not in LEVEL_COLUMN.values():
        raise InspectionError(f"unknown area column {group!r}")
    until = utc(until)
    where, params = scope.where("g")
    df = db.query_df(
        f"""
        SELECT g.{group} AS area_key, cc.source, sum(cc.n)::DOUBLE AS n,
               min(cc.bucket) AS first, max(cc.bucket) AS last,
               count(DISTINCT date_trunc('day', cc.bucket)) AS days
        FROM cell_counts cc JOIN areas g ON g.key = cc.cell_key
        WHERE {where} AND cc.bucket >= ? AND cc.bucket < ?
        GROUP BY ALL
        """,
        [*params, to_py(until - BASELINE), to_py(until)],
    )
    cols = ["area_key", "source", "last", "silent_h", "expected"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    first = pd.to_datetime(df["first"], utc=True)
    last = pd.to_datetime(df["last"], utc=True) + BUCKET
    span_h = (last - first).dt.total_seconds() / 3600.0
    df["last"] = last
    df["silent_h"] = (until - last).dt.total_seconds() / 3600.0
    df["expected"] = df["n"] / span_h.clip(lower=1.0) * df["silent_h"]
    steady = (span_h >= STEADY_DAYS * 24) & (df["days"] >= 0.75 * span_h / 24)
    hit = steady & (df["silent_h"] >= th.silent_hours) & (df["expected"] >= th.silent_expected)
    return df[hit].sort_values(["area_key", "silent_h"], ascending=[True, False])[cols]


def for_runtime(rt, scope: AreaScope, *, level: str = "county", since=None, until=None, now=None):
    """:func:`build` with the running OneGrid's settings (thresholds, escalation times, time
    zone) and department names: what the page and the read API show."""
    from data.cases.desk import department_names

    rules = rt.cases.rules
    return build(
        rt.db,
        scope,
        level=level or "county",
        since=since,
        until=until,
        now=now,
        timezone=rt.timezone,
        thresholds=Thresholds.from_settings(rt.settings),
        escalate_after=rt.settings.warnings_escalate_after_s,
        departments=department_names(rules, list(rules.departments)),
    )
