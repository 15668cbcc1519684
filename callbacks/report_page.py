"""Callbacks of the grid worker's report page (``/report``).

A report goes through the same ingest pipeline as every feed: a 12345 (``hotline``) event with
``attributes.channel = "grid_worker"``; the pipeline's case listener makes it a case (origin
``grid_report``), its photos are attached to the case, and the page answers with the case number
and lists the reporter's reports with their cases' state.
"""

from __future__ import annotations

import dash
from dash import Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import field_reports, policy, queries
from data.attachments import PhotoError
from data.field_reports import (
    file_report,
    submit_report,  # noqa: F401 - the page's helper, as tests call it
)
from layouts import ids
from layouts.i18n import label, normalise_language, t
from layouts.report_page import my_reports_list, photo_note, report_map

_wiring = Wiring(page="report")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register

GEO_CODES = ("ok", "denied", "unavailable", "asking")


@callback(
    Output(ids.REPORT_CATEGORY, "options"),
    Output(ids.REPORT_CATEGORY, "value"),
    Output(ids.REPORT_MAP, "figure"),
    Output(ids.REPORT_LON, "value"),
    Output(ids.REPORT_LAT, "value"),
    Output(ids.REPORT_GEO_TEXT, "data"),
    Input(ids.LANG, "data"),
    State(ids.REPORT_CATEGORY, "value"),
    State(ids.REPORT_LON, "value"),
    State(ids.REPORT_LAT, "value"),
)
def report_options(lang, value, lon, lat):
    """The form in the page's language; the place starts at the reporter's own area."""
    from web.session import current_user

    lang = normalise_language(lang)
    rt = _rt()
    form = field_reports.report_form(rt, current_user())
    opts = [
        {"label": label(f"category.hotline.{c}", lang, rt.catalogue), "value": c}
        for c in form["categories"]
    ]
    picked = (lon, lat) if lon is not None and lat is not None else form["home"]
    geo = {code: t(f"report.geo.{code}", lang) for code in GEO_CODES}
    return (
        opts,
        value or "city_appearance",
        report_map(form["cells"], rt.settings.tile_url, picked),
        *(picked or (None, None)),
        geo,
    )


# the phone's location (the browser asks its user); the answer only fills the two fields
clientside_callback(
    """async function (n, texts) {
        const nu = window.dash_clientside.no_update;
        texts = texts || {};
        if (!n) { return [nu, nu, nu]; }
        if (!navigator.geolocation) { return [nu, nu, texts.unavailable || ""]; }
        try {
            const pos = await new Promise((ok, fail) => navigator.geolocation.getCurrentPosition(
                ok, fail, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000}));
            const c = pos.coords;
            return [Number(c.longitude.toFixed(6)), Number(c.latitude.toFixed(6)),
                    (texts.ok || "").replace("{m}", Math.round(c.accuracy))];
        } catch (e) {
            return [nu, nu, e && e.code === 1 ? texts.denied || "" : texts.unavailable || ""];
        }
    }""",
    Output(ids.REPORT_LON, "value", allow_duplicate=True),
    Output(ids.REPORT_LAT, "value", allow_duplicate=True),
    Output(ids.REPORT_GEO_MSG, "children"),
    Input(ids.REPORT_LOCATE, "n_clicks"),
    State(ids.REPORT_GEO_TEXT, "data"),
    prevent_initial_call=True,
)

# the picked point follows the two fields (the map's marker is its second trace)
clientside_callback(
    """function (lon, lat) {
        const patch = new window.dash_clientside.Patch();
        const ok = lon !== null && lon !== undefined && lat !== null && lat !== undefined;
        patch.assign(["data", 1, "lon"], ok ? [lon] : []);
        patch.assign(["data", 1, "lat"], ok ? [lat] : []);
        return patch.build();
    }""",
    Output(ids.REPORT_MAP, "figure", allow_duplicate=True),
    Input(ids.REPORT_LON, "value"),
    Input(ids.REPORT_LAT, "value"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.REPORT_LON, "value", allow_duplicate=True),
    Output(ids.REPORT_LAT, "value", allow_duplicate=True),
    Input(ids.REPORT_MAP, "clickData"),
    prevent_initial_call=True,
)
def pick_place(click):
    """A tap on a cell puts the report at the cell's representative point."""
    if not click or not click.get("points"):
        raise dash.exceptions.PreventUpdate
    p = click["points"][0]
    if "location" in p:
        from web.session import may

        db = _rt().db
        key = int(p["location"])
        if not may("report", policy.area_target(db, key=key)):
            raise dash.exceptions.PreventUpdate  # a cell outside the reporter's area
        point = queries.area_point(db, key)
        if point:
            return point
    if "lon" in p and "lat" in p:
        return p["lon"], p["lat"]
    raise dash.exceptions.PreventUpdate


@callback(
    Output(ids.REPORT_PHOTO_NOTE, "children"),
    Input(ids.REPORT_PHOTOS, "filename"),
    Input(ids.LANG, "data"),
)
def note_photos(names, lang):
    """How many photos are chosen, and which."""
    return photo_note(names if isinstance(names, list) else [], normalise_language(lang))


@callback(
    Output(ids.REPORT_MSG, "children"),
    Output(ids.REPORT_PHOTOS, "contents"),
    Output(ids.REPORT_PHOTOS, "filename"),
    Input(ids.REPORT_SUBMIT, "n_clicks"),
    State(ids.REPORT_CATEGORY, "value"),
    State(ids.REPORT_TEXT, "value"),
    State(ids.REPORT_LON, "value"),
    State(ids.REPORT_LAT, "value"),
    State(ids.REPORT_PHOTOS, "contents"),
    State(ids.REPORT_PHOTOS, "filename"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def report(_n, category, text, lon, lat, contents, names, lang):
    """File the report with its photos; the photos are cleared once they are on the case."""
    from web.session import current_user

    lang = normalise_language(lang)
    keep = (dash.no_update, dash.no_update)
    if not text or not str(text).strip():
        return t("report.need_text", lang), *keep
    if lon is None or lat is None:
        return t("report.need_place", lang), *keep
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return t("report.need_place", lang), *keep
    contents = contents if isinstance(contents, list) else []
    names = names if isinstance(names, list) else [""] * len(contents)
    try:
        photos = list(zip(names, contents, strict=False))
        case_id, reason = file_report(
            _rt(), current_user(), category, str(text).strip(), lon, lat, photos
        )
    except PhotoError as exc:
        return t(f"report.photo.{exc.code}", lang).format(**exc.params), *keep
    if reason == "not_allowed":
        return t("report.not_allowed", lang), *keep
    if case_id is None:
        return t("report.rejected", lang).format(reason=reason), *keep
    return t("report.done", lang).format(id=case_id), None, None


@callback(
    Output(ids.REPORT_MINE, "children"),
    Input(ids.LANG, "data"),
    Input(ids.REPORT_MSG, "children"),
    Input(ids.REFRESH, "n_intervals"),
)
def show_mine(lang, _msg, _n):
    """The reporter's latest reports, each with its case's state now."""
    from web.session import current_user

    rt = _rt()
    user = current_user()
    frame = field_reports.my_reports(rt.db, getattr(user, "username", ""))
    return my_reports_list(frame, normalise_language(lang), rt.timezone)
