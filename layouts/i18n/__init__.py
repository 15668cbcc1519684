"""Translation tables: every display string of OneGrid, in zh-CN (default) and English.

The tables are data files beside this module, one per language (``zh.json``, ``en.json``), read
once at import and never changed afterwards. Code never shows a literal string to a user; it asks
``t(key, lang)``. A key missing from a table is a bug that the tests catch (``test_i18n``), not a
silent fallback. Strings with ``{name}`` placeholders are filled with ``t(key, lang).format(...)``.

Numbers and dates are formatted per language with Babel (``format_number``, ``format_decimal``,
``format_percent``, ``format_datetime``), so a figure reads the way each language writes it.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from babel import dates as _dates
from babel import numbers as _numbers

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# Babel's locale for each language code the app uses.
_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}

_HERE = Path(__file__).resolve().parent


def _load(lang: str) -> MappingProxyType:
    """One language's table from its JSON file, read-only so nothing can change it later."""
    with open(_HERE / f"{lang}.json", encoding="utf-8") as f:
        return MappingProxyType(json.load(f))


TRANSLATIONS: MappingProxyType = MappingProxyType({lang: _load(lang) for lang in LANGUAGES})


def t(key: str, lang: str | None = None) -> str:
    """The display string for ``key`` in ``lang`` (zh by default); KeyError when untranslated."""
    table = TRANSLATIONS.get(lang or DEFAULT_LANGUAGE, TRANSLATIONS[DEFAULT_LANGUAGE])
    return table[key]


def display_name(key: str, lang: str | None = None, catalogue=None) -> str:
    """The display name of a source (``source.<id>``) or category (``category.<id>.<code>``):
    the name ``catalogue`` (a :class:`data.catalogue.Catalogue`) configures for it, else the
    translation table's. Any other key is :func:`t`'s."""
    if catalogue is not None:
        own = catalogue.name(key, normalise_language(lang))
        if own is not None:
            return own
    return t(key, lang)


def label(key: str, lang: str | None = None, catalogue=None) -> str:
    """:func:`display_name`, or the code itself (the key's last part) for a source or category
    neither the catalogue nor the tables name: events stored under a source the configuration
    no longer lists still show, by their code."""
    try:
        return display_name(key, lang, catalogue)
    except KeyError:
        return key.rsplit(".", 1)[-1]


def normalise_language(lang: str | None) -> str:
    """A supported language code for ``lang`` (anything unknown gives the default)."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def area_name(row: dict, lang: str) -> str:
    """An area's display name (from the region's own data) in ``lang``."""
    name = row.get("name_en") if normalise_language(lang) == "en" else row.get("name_zh")
    return str(name or row.get("code") or "")


def _locale(lang: str | None) -> str:
    return _LOCALES[normalise_language(lang)]


def format_number(value: int | float, lang: str | None = None) -> str:
    """A whole number with the language's digit grouping (``12,345``)."""
    return _numbers.format_decimal(value, format="#,##0", locale=_locale(lang))


def format_decimal(value: float, lang: str | None = None, digits: int = 1) -> str:
    """A number with exactly ``digits`` decimals and the language's separators."""
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return _numbers.format_decimal(value, format=pattern, locale=_locale(lang))


def format_percent(share: float, lang: str | None = None, digits: int = 1) -> str:
    """A share (0.25) as a percentage (``25.0%``) written the language's way."""
    pattern = "#,##0." + "0" * digits + "%" if digits > 0 else "#,##0%"
    return _numbers.format_percent(share, format=pattern, locale=_locale(lang))


# What a screen shows of a moment, as CLDR skeletons (date part, time part): the locale's data
# picks the order, the month names and the separators ("11月26日 08:05" / "26 Nov, 08:05").
MOMENTS = {
    "time": (None, "Hm"),
    "day_time": ("MMMd", "Hm"),
    "date_time": ("yMMMd", "Hm"),
    "date_time_seconds": ("yMMMd", "Hms"),
    "date": ("yMMMd", None),
}


def format_moment(value, timezone: str, lang: str | None = None, kind: str = "date_time"):
    """``value`` (a stored time: naive means UTC) shown in the region's ``timezone`` the
    language's way; ``kind`` is a key of :data:`MOMENTS`. None, NaT and NaN give None.

    A ``date`` with no time zone (a calendar day, such as a week's first day) is shown as is.
    """
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    date_part, time_part = MOMENTS[kind]
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None or kind != "date":
        ts = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).tz_convert(timezone)
    moment, locale = ts.to_pydatetime(), _locale(lang)
    parts = [
        _dates.format_skeleton(sk, moment, tzinfo=moment.tzinfo, locale=locale)
        for sk in (date_part, time_part)
        if sk
    ]
    if len(parts) == 1:
        return parts[0]
    joined = _dates.get_datetime_format("medium", locale=locale)
    return joined.replace("{1}", parts[0]).replace("{0}", parts[1])


def format_datetime(value: datetime, pattern: str, lang: str | None = None) -> str:
    """``value`` in a CLDR ``pattern`` (``yyyy-MM-dd HH:mm``) with the language's names.

    The value is shown in its own time zone; convert it to the region's zone first.
    """
    return _dates.format_datetime(value, pattern, tzinfo=value.tzinfo, locale=_locale(lang))
