"""Callbacks of ``/feeds/new`` (administrators only, guarded by ``Wiring(page="feeds_new")``):
read the uploaded sample, fill the value -> category table, preview the dry run, save the
mapping. The work is in data/feeds/mapping_draft.py; these only connect it to the page."""

from __future__ import annotations

from dash import Input, Output, State, no_update

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data.feeds import mapping_draft as drafts
from layouts import feeds_new_page as view
from layouts import ids
from layouts.i18n import label, normalise_language, t
from web.session import current_user

_wiring = Wiring(page="feeds_new")
callback = _wiring.callback
register = _wiring.register

PICKER_IDS = [cid for cid, _key, _needed in view.PICKERS]
PICKER_KEYS = ("id", "time", "lon", "lat", "category", "severity", "value", "text")


@callback(
    Output(ids.FEEDNEW_GRID, "rowData"),
    Output(ids.FEEDNEW_GRID, "columnDefs"),
    Output(ids.FEEDNEW_INFO, "children"),
    *[Output(cid, "options") for cid in PICKER_IDS],
    Output(ids.FEEDNEW_SOURCE, "options"),
    Output(ids.FEEDNEW_NAME, "value"),
    Input(ids.FEEDNEW_UPLOAD, "contents"),
    State(ids.FEEDNEW_UPLOAD, "filename"),
    Input(ids.LANG, "data"),
)
def read_sample(contents, filename, lang):
    """The sample's first rows and columns, and the column pickers' options."""
    lang = normalise_language(lang)
    catalogue = _rt().catalogue
    sources = [{"label": label(f"source.{s}", lang, catalogue), "value": s} for s in catalogue.ids]
    nothing = [[] for _ in PICKER_IDS]
    if not contents:
        return [], [], t("feednew.none", lang), *nothing, sources, no_update
    try:
        sample = drafts.sample_view(contents, filename)
    except drafts.DraftError as exc:
        return [], [], view.draft_error(exc.key, exc.params, lang), *nothing, sources, no_update
    rows, defs, line, options = view.sample_outputs(
        sample["columns"], sample["first_rows"], sample, lang
    )
    return rows, defs, line, *[options for _ in PICKER_IDS], sources, sample["name"]


@callback(
    Output(ids.FEEDNEW_CATEGORY_MAP, "rowData"),
    Output(ids.FEEDNEW_CATEGORY_MAP, "columnDefs"),
    Output(ids.FEEDNEW_CATEGORY_DEFAULT, "options"),
    Input(ids.FEEDNEW_CATEGORY, "value"),
    Input(ids.FEEDNEW_SOURCE, "value"),
    State(ids.FEEDNEW_UPLOAD, "contents"),
    State(ids.FEEDNEW_UPLOAD, "filename"),
    State(ids.LANG, "data"),
)
def category_table(column, source, contents, filename, lang):
    """The category column's values with their counts, each to be given a code of the source."""
    lang = normalise_language(lang)
    catalogue = _rt().catalogue
    values, codes = drafts.category_choices(contents, filename, column, source, catalogue)
    options = [
        {"label": f"{label(f'category.{source}.{c}', lang, catalogue)} ({c})", "value": c}
        for c in codes
    ]
    rows, defs = view.category_table(values, codes, lang)
    return rows, defs, options


_CHOICES = [
    State(ids.FEEDNEW_UPLOAD, "contents"),
    State(ids.FEEDNEW_UPLOAD, "filename"),
    State(ids.FEEDNEW_NAME, "value"),
    State(ids.FEEDNEW_SOURCE, "value"),
    State(ids.FEEDNEW_TIME_FORMAT, "value"),
    State(ids.FEEDNEW_TIMEZONE, "value"),
    *[State(cid, "value") for cid in PICKER_IDS],
    State(ids.FEEDNEW_CATEGORY_MAP, "rowData"),
    State(ids.FEEDNEW_CATEGORY_DEFAULT, "value"),
    State(ids.LANG, "data"),
]


def _choices(name, source, time_format, timezone, *rest) -> tuple[dict, str]:
    """(the page's choices for data.feeds.mapping_draft.draft, the language)."""
    picks = dict(zip(PICKER_KEYS, rest[: len(PICKER_IDS)], strict=True))
    table, default, lang = rest[len(PICKER_IDS) :]
    choices = {
        **picks,
        "name": name,
        "source": source,
        "time_format": time_format,
        "timezone": timezone,
        "category_map": {r.get("value"): r.get("code") for r in table or [] if r.get("code")},
        "category_default": default,
    }
    return choices, normalise_language(lang)


@callback(
    Output(ids.FEEDNEW_RESULT, "children"),
    Input(ids.FEEDNEW_PREVIEW, "n_clicks"),
    *_CHOICES,
    prevent_initial_call=True,
)
def preview(_clicks, contents, filename, *states):
    """The dry run of the drafted mapping on the sample: where every row would go."""
    choices, lang = _choices(*states)
    rt = _rt()
    try:
        recon, toml_text = drafts.preview_draft(
            contents, filename, choices, region=rt.region, db=rt.db, catalogue=rt.catalogue
        )
    except drafts.DraftError as exc:
        return view.draft_error(exc.key, exc.params, lang)
    except drafts.MappingError as exc:  # the mapping format's own message (docs/MAPPING.md)
        return view.error(str(exc))
    return view.reconciliation(recon, toml_text, lang)


@callback(
    Output(ids.FEEDNEW_SAVED, "children"),
    Input(ids.FEEDNEW_SAVE, "n_clicks"),
    *_CHOICES,
    prevent_initial_call=True,
)
def save(_clicks, contents, filename, *states):
    """Save the drafted mapping into the mappings folder (atomic, audited)."""
    choices, lang = _choices(*states)
    rt = _rt()
    user = current_user()
    try:
        path = drafts.save_draft(
            contents,
            filename,
            choices,
            settings=rt.settings,
            db=rt.db,
            actor=user.username if user else "anonymous",
        )
    except drafts.DraftError as exc:
        return view.draft_error(exc.key, exc.params, lang)
    except drafts.MappingError as exc:  # the mapping format's own message (docs/MAPPING.md)
        return view.error(str(exc))
    return t("feednew.saved", lang).format(path=str(path))
