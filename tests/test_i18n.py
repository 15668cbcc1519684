"""Translation tables: both languages have the same keys, and the layouts show no literal text."""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from data.events import CATEGORIES, SOURCES
from layouts.i18n import (
    LANGUAGES,
    MOMENTS,
    TRANSLATIONS,
    format_datetime,
    format_decimal,
    format_moment,
    format_number,
    format_percent,
    t,
)
from tests.support.source import parse

LAYOUTS = Path(__file__).resolve().parents[1] / "layouts"
CALLBACKS = Path(__file__).resolve().parents[1] / "callbacks"
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_language_has_the_same_keys():
    keys = [set(TRANSLATIONS[lang]) for lang in LANGUAGES]
    assert all(k == keys[0] for k in keys)


def test_placeholders_match_between_languages():
    for key in TRANSLATIONS["zh"]:
        found = {lang: set(PLACEHOLDER.findall(TRANSLATIONS[lang][key])) for lang in LANGUAGES}
        assert found["zh"] == found["en"], key


def test_every_source_and_category_is_translated():
    for lang in LANGUAGES:
        for source in SOURCES:
            assert t(f"source.{source}", lang)
            for cat in CATEGORIES[source]:
                assert t(f"category.{source}.{cat}", lang)


def _literal_texts(path: Path) -> list[tuple[int, str]]:
    """String constants that are display text: CJK anywhere, or words passed as a component's
    children (a first positional argument of an html.* call made of letters and spaces)."""
    tree = parse(path)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CJK.search(node.value)
        ):
            found.append((node.lineno, node.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "html"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and re.search(r"[A-Za-z]{2,}", node.args[0].value)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_layouts_and_callbacks_show_no_literal_text():
    offenders = []
    for folder in (LAYOUTS, CALLBACKS):
        for path in sorted(folder.glob("*.py")):
            if path.name == "i18n.py":
                continue
            offenders += [(path.name, line, text) for line, text in _literal_texts(path)]
    assert offenders == []


def test_language_files_have_the_same_keys_and_placeholders():
    """The data files themselves (read as plain JSON, not through the module) agree."""
    folder = LAYOUTS / "i18n"
    tables = {
        lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
        for lang in LANGUAGES
    }
    assert set(tables["zh"]) == set(tables["en"])
    for key, text in tables["zh"].items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(
            PLACEHOLDER.findall(tables["en"][key])
        ), key
    assert all(isinstance(v, str) and v for table in tables.values() for v in table.values())


def test_tables_cannot_be_changed_after_import():
    with pytest.raises(TypeError):
        TRANSLATIONS["zh"]["login.username"] = "x"


def test_numbers_and_dates_are_formatted_per_language():
    assert format_number(1234567, "en") == "1,234,567"
    assert format_number(1234567, "zh") == "1,234,567"
    assert format_decimal(1234.56, "en") == "1,234.6"
    assert format_percent(0.256, "en") == "25.6%"
    moment = datetime(2026, 3, 5, 14, 7, tzinfo=timezone(timedelta(hours=8)))
    assert format_datetime(moment, "yyyy-MM-dd HH:mm", "zh") == "2026-03-05 14:07"
    assert format_datetime(moment, "MMMM", "en") == "March"
    assert format_datetime(moment, "MMMM", "zh") == "三月"


def test_moments_are_shown_per_language_in_the_regions_time_zone():
    """One stored UTC moment: the region's local day and hour, in each language's own way (the
    words and order come from Babel's CLDR data, so zh and en differ as the locales do)."""
    stored = "2026-11-25T16:05:09Z"  # 00:05:09 on the 26th in Shanghai (UTC+8)
    shanghai = {
        lang: format_moment(stored, "Asia/Shanghai", lang, "date_time") for lang in LANGUAGES
    }
    assert shanghai == {"zh": "2026年11月26日 00:05", "en": "26 Nov 2026, 00:05"}
    assert format_moment(stored, "Asia/Shanghai", "zh", "day_time") == "11月26日 00:05"
    assert format_moment(stored, "Asia/Shanghai", "en", "day_time") == "26 Nov, 00:05"
    assert format_moment(stored, "Asia/Shanghai", "zh", "date_time_seconds").endswith("00:05:09")
    assert format_moment(stored, "Asia/Shanghai", "en", "time") == "00:05"
    # the same moment in another zone is another local day
    assert format_moment(stored, "Europe/London", "en", "date") == "25 Nov 2026"
    # naive stored times are UTC; a calendar day without a zone stays that day
    assert format_moment("2026-11-25 16:05:09", "Asia/Shanghai", "en", "time") == "00:05"
    assert format_moment(datetime(2026, 11, 23).date(), "Asia/Shanghai", "en", "date") == (
        "23 Nov 2026"
    )
    assert format_moment(None, "Asia/Shanghai", "en") is None
    assert set(MOMENTS) >= {"time", "day_time", "date_time", "date_time_seconds", "date"}


def test_no_screen_formats_a_time_by_hand():
    """Layouts and callbacks show times through format_moment (Babel), never strftime or an
    f-string time format, so every date follows the language."""
    by_hand = re.compile(r"strftime\(|isoformat\(|:%[HMmdY]")
    found = []
    for folder in (LAYOUTS, CALLBACKS):
        for path in sorted(folder.rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if by_hand.search(line):
                    found.append(f"{path.name}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
