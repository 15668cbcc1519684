"""The figures builder's table in words: indicator, unit, area, level and dimension-member names
in one language, and the values rounded for reading. Plain values only (no Dash), so the page
(:mod:`layouts.figures_page`) and the files (:mod:`reports.figures`) show the same words."""

from __future__ import annotations

import math

import pandas as pd

from layouts.i18n import format_moment, t

# the table's display columns, each one's header is ``figures.col.<field>``
FIELDS: tuple[str, ...] = (
    *("indicator", "unit", "area", "code", "level", "member"),
    *("value", "compare_value", "change", "change_pct"),
)
COMPARE_FIELDS = ("compare_value", "change", "change_pct")
# decimals a value is shown with, per unit (shares are shown in per cent)
DIGITS = {"count": 0, "per_10k": 2, "share": 1, "hours": 1}


def _t(key: str, lang: str, fallback: str) -> str:
    try:
        return t(key, lang)
    except KeyError:
        return fallback


def indicator_name(ind_id: str, lang: str) -> str:
    """The indicator's name in ``lang``."""
    return t(f"indicator.{ind_id}.name", lang)


def member_name(dimension, key, names: dict, lang: str) -> str:
    """A dimension member's display name (empty without a dimension)."""
    if dimension is None or key is None or (isinstance(key, float) and math.isnan(key)):
        return ""
    key = str(key)
    if dimension in ("source", "category"):
        # a configured source's (or its categories') names come with the answer's names
        own = names.get(f"{dimension}.{key}")
        if own:
            return own["en" if lang == "en" else "zh"]
    if dimension == "source":
        return _t(f"source.{key}", lang, key)
    if dimension == "category":
        return _t(f"category.{key}", lang, key)
    if dimension == "subject":
        return _t(f"category.hotline.{key}", lang, key)
    if dimension == "level":
        return _t(f"warn.level.{key}", lang, key)
    if dimension == "department":
        found = names.get(key)
        return found["en" if lang == "en" else "zh"] if found else key
    return key


def shown(value, unit: str, *, change: bool = False):
    """A value as the table shows it: rounded for its unit, a share in per cent; None for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return None
    v = float(value) * (100.0 if unit == "share" else 1.0)
    digits = DIGITS.get(unit, 2)
    return int(round(v)) if digits == 0 else round(v, digits)


def display_rows(table: pd.DataFrame, names: dict, lang: str) -> list[dict]:
    """The table's rows in words and rounded values (one dict per row, keys :data:`FIELDS`)."""
    rows = []
    for r in table.to_dict("records"):
        unit = r["unit"]
        pct = r["change_pct"]
        rows.append(
            {
                "indicator": indicator_name(r["indicator"], lang),
                "unit": t(f"unit.{unit}", lang),
                "area": (r["name_en"] if lang == "en" else r["name_zh"]) or r["area"],
                "code": r["area"],
                "level": t(f"level.{r['level']}", lang),
                "member": member_name(r["dimension"], r["key"], names, lang),
                "value": shown(r["value"], unit),
                "compare_value": shown(r["compare_value"], unit),
                "change": shown(r["change"], unit),
                "change_pct": None if pd.isna(pct) else round(float(pct), 1),
            }
        )
    return rows


def fields(compared: bool) -> tuple[str, ...]:
    """The display columns: without a comparison period, its three columns are left out."""
    return FIELDS if compared else tuple(f for f in FIELDS if f not in COMPARE_FIELDS)


def headers(compared: bool, lang: str) -> list[str]:
    """The column headers in ``lang``."""
    return [t(f"figures.col.{f}", lang) for f in fields(compared)]


def period_text(since, until, timezone: str, lang: str) -> str:
    """``[since, until)`` for a reader: first and last local day when both are midnights, else
    the two moments."""
    s, u = since.tz_convert(timezone), until.tz_convert(timezone)
    if s == s.normalize() and u == u.normalize():
        last = u - pd.Timedelta(days=1)
        a = format_moment(s, timezone, lang, "date")
        b = format_moment(last, timezone, lang, "date")
        return a if a == b else t("figures.period.days", lang).format(first=a, last=b)
    a = format_moment(s, timezone, lang, "date_time")
    b = format_moment(u, timezone, lang, "date_time")
    return t("figures.period.span", lang).format(since=a, until=b)
