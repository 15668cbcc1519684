"""Translation tables: both languages have the same keys, and the layouts show no literal text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from data.events import CATEGORIES, SOURCES
from layouts.i18n import LANGUAGES, TRANSLATIONS, t

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
    tree = ast.parse(path.read_text(encoding="utf-8"))
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
