"""Translation tables: every display string of OneGrid, in zh-CN (default) and English.

Code never shows a literal string to a user; it asks ``t(key, lang)``. A key missing from a table
is a bug that the tests catch (``test_i18n``), not a silent fallback.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

TRANSLATIONS: dict[str, dict[str, str]] = {
    "zh": {
        "app.title": "OneGrid 城市运行一网统管",
        "app.subtitle": "一屏指挥",
        "lang.switch": "English",
        "clock.label": "本地时间",
        "feeds.title": "数据接入",
        "feeds.today": "今日事件",
        "feeds.per_min": "条/分钟",
        "feeds.stale": "中断",
        "feeds.ok": "正常",
        "feeds.last": "最近接收",
        "feeds.quarantined": "隔离",
        "map.title": "网格事件分布（近24小时）",
        "map.events": "事件数",
        "source.police": "110警情",
        "source.traffic": "交通",
        "source.environment": "生态环境",
        "source.market": "市场监管",
        "source.hotline": "12345热线",
        "level.city": "市",
        "level.county": "县（市、区）",
        "level.township": "乡镇（街道）",
        "level.community": "社区（村）",
        "level.grid": "网格",
    },
    "en": {
        "app.title": "OneGrid City Operations",
        "app.subtitle": "One screen commands",
        "lang.switch": "中文",
        "clock.label": "Local time",
        "feeds.title": "Feeds",
        "feeds.today": "Events today",
        "feeds.per_min": "per min",
        "feeds.stale": "STALE",
        "feeds.ok": "live",
        "feeds.last": "last received",
        "feeds.quarantined": "quarantined",
        "map.title": "Events per grid cell (last 24 h)",
        "map.events": "events",
        "source.police": "Police 110",
        "source.traffic": "Traffic",
        "source.environment": "Environment",
        "source.market": "Market supervision",
        "source.hotline": "12345 hotline",
        "level.city": "City",
        "level.county": "County",
        "level.township": "Township / street",
        "level.community": "Community / village",
        "level.grid": "Grid cell",
    },
}


def t(key: str, lang: str | None = None) -> str:
    """The display string for ``key`` in ``lang`` (zh by default); KeyError when untranslated."""
    table = TRANSLATIONS.get(lang or DEFAULT_LANGUAGE, TRANSLATIONS[DEFAULT_LANGUAGE])
    return table[key]


def normalise_language(lang: str | None) -> str:
    """A supported language code for ``lang`` (anything unknown gives the default)."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE
