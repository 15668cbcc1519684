"""Callbacks of the figures builder (``/figures``): each reads the form, calls one function of
:mod:`data.figures` for the signed-in user and hands the answer to :mod:`layouts.figures_page`.

The request the table answers lives in a store (``FIG_REQUEST``), set by the address on load, by
the Run button, or by a saved request; the table is built from it, and the address is updated to
it (a clientside ``history.replaceState``, so the page does not reload) so it can be shared.
"""

from __future__ import annotations

import functools

import dash
from dash import Input, Output, State, ctx, dcc

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import figures, policy
from layouts import figures_page as view
from layouts import ids
from layouts.i18n import normalise_language, t
from reports.figures import render
from web.session import current_user

_wiring = Wiring(page="figures")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register

# the form as a link or a saved request sets it (the dropdowns' choices through FIG_FORM)
FORM = (
    Output(ids.FIG_FORM, "data", allow_duplicate=True),
    Output(ids.FIG_PERIOD, "start_date", allow_duplicate=True),
    Output(ids.FIG_PERIOD, "end_date", allow_duplicate=True),
    Output(ids.FIG_COMPARE_PERIOD, "start_date", allow_duplicate=True),
    Output(ids.FIG_COMPARE_PERIOD, "end_date", allow_duplicate=True),
)
REFUSED = (figures.FiguresError, policy.PolicyDenied)


def _lang(lang) -> str:
    return normalise_language(lang)


def _codes(value) -> list[str]:
    """A dropdown's value as a list of codes (one code alone, or a list)."""
    if isinstance(value, str):
        return [value]
    return [c for c in value if isinstance(c, str)] if isinstance(value, list) else []


def _chosen(form, key: str):
    """What a link or saved request chooses in a dropdown (None: leave it as it is)."""
    if ctx.triggered_id != ids.FIG_FORM or not isinstance(form, dict):
        return None
    return form.get(key)


@callback(
    Output(ids.FIG_INDICATORS, "options"),
    Output(ids.FIG_INDICATORS, "value"),
    Output(ids.FIG_COMPARE, "options"),
    Output(ids.FIG_COMPARE, "value"),
    Input(ids.LANG, "data"),
    Input(ids.FIG_FORM, "data"),
)
def choices(lang, form):
    """The indicator catalogue grouped by domain and the comparison choices in ``lang``, and
    the choices a link or a saved request makes among them."""
    lang = _lang(lang)
    items = figures.indicator_choices()
    known = {i["id"] for i in items}
    inds, compare = _chosen(form, "indicators"), _chosen(form, "compare")
    inds = [i for i in _codes(inds) if i in known] if inds is not None else dash.no_update
    compare = compare if compare in view.COMPARE_CHOICES else dash.no_update
    return view.indicator_options(items, lang), inds, view.compare_options(lang), compare


@callback(
    Output(ids.FIG_AREAS, "options"),
    Output(ids.FIG_AREAS, "value"),
    Input(ids.LANG, "data"),
    Input(ids.FIG_AREAS, "search_value"),
    Input(ids.FIG_FORM, "data"),
    State(ids.FIG_AREAS, "value"),
)
def area_choices(lang, search, form, chosen):
    """The areas inside the user's scope (grid cells found by what is typed); areas chosen by a
    link or a saved request are set together with the options that hold them."""
    search = search if isinstance(search, str) else None
    wanted = _chosen(form, "areas")
    setting = wanted is not None
    keep = _codes(wanted if setting else chosen)
    found = figures.area_choices(_rt().db, current_user(), search=search, keep=keep)
    value = [c for c in keep if c in set(found["code"])] if setting else dash.no_update
    return view.area_options(found, _lang(lang)), value


@callback(
    *FORM,
    Output(ids.FIG_REQUEST, "data", allow_duplicate=True),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.URL, "search"),
    State(ids.LANG, "data"),
    prevent_initial_call="initial_duplicate",
)
def from_address(search, lang):
    """The address's request (a shared link) fills the form and is run; without one, the form
    gets its defaults."""
    tz = _rt().timezone
    values, request, problem = figures.from_query(search if isinstance(search, str) else "", tz)
    data = request.model_dump(exclude_none=True) if request is not None else dash.no_update
    msg = t("figures.msg.bad_link", _lang(lang)).format(reason=problem) if problem else ""
    return (*view.form_values(values, tz), data, msg)


@callback(
    Output(ids.FIG_REQUEST, "data", allow_duplicate=True),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_RUN, "n_clicks"),
    State(ids.FIG_INDICATORS, "value"),
    State(ids.FIG_AREAS, "value"),
    State(ids.FIG_PERIOD, "start_date"),
    State(ids.FIG_PERIOD, "end_date"),
    State(ids.FIG_COMPARE, "value"),
    State(ids.FIG_COMPARE_PERIOD, "start_date"),
    State(ids.FIG_COMPARE_PERIOD, "end_date"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def run_form(_n, inds, areas, start, end, compare, cstart, cend, lang):
    """The form as a request (checked), for the table to answer."""
    try:
        req = figures.form_request(inds, areas, start, end, compare, cstart, cend)
    except figures.FiguresError as exc:
        return dash.no_update, t("figures.msg.invalid", _lang(lang)).format(reason=exc)
    return req.model_dump(exclude_none=True), ""


@callback(
    Output(ids.FIG_GRID, "rowData"),
    Output(ids.FIG_GRID, "columnDefs"),
    Output(ids.FIG_CHART, "figure"),
    Output(ids.FIG_QUERY, "data"),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_REQUEST, "data"),
    Input(ids.LANG, "data"),
    prevent_initial_call="initial_duplicate",
)
def show(request, lang):
    """The request's table and chart (or the reason it cannot be answered)."""
    lang = _lang(lang)
    if not request:
        return [], view.columns(False, lang), view.empty_chart(lang), dash.no_update, dash.no_update
    try:
        figs = figures.run(_rt(), current_user(), request)
    except REFUSED as exc:
        msg = t("figures.msg.invalid", lang).format(reason=exc)
        return [], view.columns(False, lang), view.empty_chart(lang), dash.no_update, msg
    compared = figs.periods.compare_since is not None
    n = len(figs.table)
    return (
        view.table(figs.table, figs.names, lang),
        view.columns(compared, lang),
        view.chart(figs.table, figs.names, compared, lang),
        figs.query,
        t("figures.msg.rows", lang).format(n=n),
    )


# the address follows the table's request, without reloading the page
clientside_callback(
    """function (query) {
        if (query && window.location.search !== query) {
            window.history.replaceState(null, '', window.location.pathname + query);
        }
        return query || null;
    }""",
    Output(ids.FIG_URL_SYNC, "data"),
    Input(ids.FIG_QUERY, "data"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.FIG_DOWNLOAD, "data"),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_EXPORT_CSV, "n_clicks"),
    Input(ids.FIG_EXPORT_XLSX, "n_clicks"),
    Input(ids.FIG_EXPORT_DOCX, "n_clicks"),
    State(ids.FIG_REQUEST, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def export(_csv, _xlsx, _docx, request, lang):
    """The table as a file (each export passes the policy's ``export`` and is audited)."""
    lang = _lang(lang)
    fmt = {ids.FIG_EXPORT_CSV: "csv", ids.FIG_EXPORT_XLSX: "xlsx", ids.FIG_EXPORT_DOCX: "docx"}
    if not request:
        return dash.no_update, t("figures.msg.run_first", lang)
    rt = _rt()
    writer = functools.partial(render, lang=lang, timezone=rt.timezone)
    try:
        name, body = figures.export(rt, current_user(), request, fmt[ctx.triggered_id], writer)
    except REFUSED as exc:
        return dash.no_update, t("figures.msg.invalid", lang).format(reason=exc)
    return dcc.send_bytes(body, name), t("figures.msg.exported", lang).format(name=name)


@callback(
    Output(ids.FIG_SAVED_VERSION, "data", allow_duplicate=True),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_SAVE, "n_clicks"),
    State(ids.FIG_SAVE_NAME, "value"),
    State(ids.FIG_REQUEST, "data"),
    State(ids.FIG_SAVED_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def save(_n, name, request, version, lang):
    """Keep the table's request under a name."""
    lang = _lang(lang)
    if not request:
        return dash.no_update, t("figures.msg.run_first", lang)
    try:
        figures.save(_rt().db, current_user(), name, request)
    except REFUSED as exc:
        return dash.no_update, t("figures.msg.invalid", lang).format(reason=exc)
    return int(version or 0) + 1, t("figures.msg.saved", lang).format(name=str(name).strip())


@callback(
    Output(ids.FIG_SAVED, "options"),
    Input(ids.FIG_SAVED_VERSION, "data"),
    Input(ids.LANG, "data"),
)
def saved_list(_version, lang):
    """The user's saved requests (an administrator's list has everyone's)."""
    rt, user = _rt(), current_user()
    found = figures.saved(rt.db, user)
    return view.saved_options(found, user.username, _lang(lang), rt.timezone)


@callback(
    *FORM,
    Output(ids.FIG_REQUEST, "data", allow_duplicate=True),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_SAVED_RUN, "n_clicks"),
    Input(ids.FIG_SAVED_NEXT, "n_clicks"),
    State(ids.FIG_SAVED, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def run_saved(_run, _next, saved_id, lang):
    """A saved request, as saved or for the period after its own, into the form and run."""
    lang = _lang(lang)
    if saved_id is None:
        return (*[dash.no_update] * 6, t("figures.msg.pick_saved", lang))
    rt = _rt()
    try:
        req = figures.saved_request(
            rt.db,
            current_user(),
            int(saved_id),
            timezone=rt.timezone,
            next_period=ctx.triggered_id == ids.FIG_SAVED_NEXT,
        )
    except REFUSED as exc:
        return (*[dash.no_update] * 6, t("figures.msg.invalid", lang).format(reason=exc))
    data = req.model_dump(exclude_none=True)
    return (*view.form_values(data, rt.timezone), data, "")


@callback(
    Output(ids.FIG_SAVED_VERSION, "data", allow_duplicate=True),
    Output(ids.FIG_SAVED, "value"),
    Output(ids.FIG_MSG, "children", allow_duplicate=True),
    Input(ids.FIG_SAVED_DELETE, "n_clicks"),
    State(ids.FIG_SAVED, "value"),
    State(ids.FIG_SAVED_VERSION, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def delete_saved(_n, saved_id, version, lang):
    """Delete the chosen saved request (one's own; an administrator's, any)."""
    lang = _lang(lang)
    if saved_id is None:
        return dash.no_update, dash.no_update, t("figures.msg.pick_saved", lang)
    if not figures.delete(_rt().db, current_user(), int(saved_id)):
        return dash.no_update, dash.no_update, t("figures.msg.no_saved", lang)
    return int(version or 0) + 1, None, t("figures.msg.deleted", lang)
