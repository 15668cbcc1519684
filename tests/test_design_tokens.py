"""The desk pages' one visual language: colours come from the design tokens (assets/tokens.css)
only. No desk layout sets a colour in an inline style, no desk stylesheet names a colour of its
own, AG Grid's desk theme is made of tokens, every token used is defined, and the light theme
gives every colour token a light value."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
# the wall's own modules (the kiosk keeps its dark sheet, wall.css) and modules without a page
NOT_DESK_LAYOUTS = {
    "wall.py",
    "warnings_panel.py",
    "response_panel.py",
    "figures.py",
    "login.py",
    "ids.py",
    "__init__.py",
}
# stylesheets of the desk pages (whole files), and the desk part of a shared one
DESK_SHEETS = ("desk.css", "figures.css", "console.css", "report.css", "metrics.css")
SHARED_SHEET = ("warnings.css", "/* the wall's warnings panel")
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?)\(")
COLOUR_PROPS = ("color", "background", "border", "fill", "stroke", "shadow", "outline")


def desk_layouts() -> list[Path]:
    return sorted(p for p in (ROOT / "layouts").glob("*.py") if p.name not in NOT_DESK_LAYOUTS)


def inline_colours(path: Path) -> list[str]:
    """Every ``style={...}`` in ``path`` whose key is a colour property or whose value names a
    colour literal, as "file:line key"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.keyword) or node.arg != "style":
            continue
        if not isinstance(node.value, ast.Dict):
            continue
        for key, value in zip(node.value.keys, node.value.values, strict=True):
            name = key.value if isinstance(key, ast.Constant) else "?"
            text = value.value if isinstance(value, ast.Constant) else ""
            colour_key = any(p in str(name).lower() for p in COLOUR_PROPS)
            colour_value = isinstance(text, str) and COLOUR_LITERAL.search(text)
            if colour_key or colour_value:
                found.append(f"{path.name}:{node.value.lineno} {name}")
    return found


def desk_css() -> dict[str, str]:
    sheets = {name: (ASSETS / name).read_text(encoding="utf-8") for name in DESK_SHEETS}
    name, marker = SHARED_SHEET
    text = (ASSETS / name).read_text(encoding="utf-8")
    assert marker in text, f"{name}: the marker of its wall part has moved"
    sheets[name] = text.split(marker)[0]
    return sheets


def strip_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def token_block(css: str, selector: str) -> dict[str, str]:
    """The custom properties set by the first block whose selector is ``selector``."""
    match = re.search(re.escape(selector) + r"\s*\{(.*?)\n\}", css, flags=re.S)
    assert match, f"tokens.css has no {selector} block"
    return dict(re.findall(r"(--og-[\w-]+)\s*:\s*([^;]+);", match.group(1)))


def test_the_check_finds_an_inline_colour(tmp_path):
    """The checker itself: an inline colour, by property or by value, is reported."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "html.Div(style={'color': 'red'})\n"
        "html.Div(style={'border': '1px dashed #38bdf8'})\n"
        "html.Div(style={'height': '10px'})\n"
    )
    assert inline_colours(sample) == ["sample.py:1 color", "sample.py:2 border"]


def test_no_desk_layout_sets_an_inline_colour():
    layouts = desk_layouts()
    assert {"cases_page.py", "metrics_page.py", "search_page.py"} <= {p.name for p in layouts}
    found = [hit for p in layouts for hit in inline_colours(p)]
    assert found == [], "inline colours outside the design tokens: " + ", ".join(found)


def test_desk_stylesheets_name_no_colour_of_their_own():
    found = []
    for name, css in desk_css().items():
        for lineno, line in enumerate(strip_comments(css).splitlines(), 1):
            if COLOUR_LITERAL.search(line):
                found.append(f"{name}:{lineno}: {line.strip()}")
    assert found == [], "colours outside assets/tokens.css:\n" + "\n".join(found)


def test_every_token_used_is_defined():
    tokens = (ASSETS / "tokens.css").read_text(encoding="utf-8")
    defined = set(re.findall(r"(--og-[\w-]+)\s*:", tokens))
    used = set()
    for css in [*desk_css().values(), tokens]:
        used |= set(re.findall(r"var\((--og-[\w-]+)\)", css))
    from layouts.shell import GRID_THEME

    used |= set(re.findall(r"var\((--og-[\w-]+)\)", GRID_THEME))
    assert used - defined == set()


def test_the_light_theme_gives_every_colour_a_light_value():
    css = strip_comments((ASSETS / "tokens.css").read_text(encoding="utf-8"))
    dark = token_block(css, ":root")
    light = token_block(css, 'html[data-theme="light"]')
    colours = {k for k, v in dark.items() if COLOUR_LITERAL.search(v) or "gradient" in v}
    assert colours, "no colour token found"
    assert colours <= set(light), sorted(colours - set(light))
    # the page, its panels and its text do change
    assert all(light[k] != dark[k] for k in ("--og-bg", "--og-surface", "--og-ink", "--og-edge"))


def test_every_desk_grid_takes_the_token_theme():
    """AG Grid's desk theme is made of tokens only, and no desk layout builds another."""
    from layouts.shell import GRID_THEME

    assert "var(--og-surface)" in GRID_THEME and not COLOUR_LITERAL.search(GRID_THEME)
    for path in desk_layouts():
        text = path.read_text(encoding="utf-8")
        if path.name != "shell.py":
            assert "themeQuartz" not in text, f"{path.name} builds its own grid theme"
