"""Callbacks of the search page (``/search``): the box, the facets and the period read into one
search of :mod:`data.search` inside the signed-in user's scope (a county leader's results are
their county's), handed to :mod:`layouts.search_page`; the address follows the search."""

from __future__ import annotations

from dash import Input, Output, State

from callbacks.wiring import Wiring
from callbacks.wiring import runtime as _rt
from data import figures, search
from data.times import iso
from layouts import figures_page as figures_view
from layouts import ids
from layouts import search_page as view
from layouts.i18n import normalise_language, t
from web.session import current_user

_wiring = Wiring(page="search")
callback = _wiring.callback
clientside_callback = _wiring.clientside_callback
register = _wiring.register

ROWS = 500  # the newest matches listed (and put on the map)


# the picker follows a shared link's since/until
_wiring.address_period(ids.SEARCH_PERIOD)


@callback(
    Output(ids.SEARCH_AREA, "options"),
    Input(ids.LANG, "data"),
    Input(ids.SEARCH_AREA, "search_value"),
    State(ids.SEARCH_AREA, "value"),
)
def area_choices(lang, typed, chosen):
    """The areas inside the user's scope (grid cells found by what is typed)."""
    typed = typed if isinstance(typed, str) else None
    keep = [chosen] if isinstance(chosen, str) and chosen else []
    found = figures.area_choices(_rt().db, current_user(), search=typed, keep=keep)
    return figures_view.area_options(found, normalise_language(lang))


def _equals(kind: str, source, category, severity, state) -> tuple[dict, str | None]:
    """The facets that apply to ``kind`` as the read API's filters, and a warning's level."""
    if kind == "events":
        sev = int(severity) if severity in view.SEVERITIES else None
        return {"source": source or None, "category": category or None, "severity": sev}, None
    if kind == "cases":
        return {"state": state or None, "category": category or None}, None
    level = severity if severity in view.LEVELS else None
    return {"state": state or None}, level


@callback(
    Output(ids.SEARCH_GRID, "rowData"),
    Output(ids.SEARCH_GRID, "columnDefs"),
    Output(ids.SEARCH_MAP, "figure"),
    Output(ids.SEARCH_HISTOGRAM, "figure"),
    Output(ids.SEARCH_SUMMARY, "children"),
    Output(ids.SEARCH_CSV, "href"),
    Output(ids.SEARCH_XLSX, "href"),
    Output(ids.SEARCH_SOURCE, "options"),
    Output(ids.SEARCH_CATEGORY, "options"),
    Output(ids.SEARCH_SEVERITY, "options"),
    Output(ids.SEARCH_STATE, "options"),
    Output(ids.SEARCH_SOURCE, "disabled"),
    Output(ids.SEARCH_CATEGORY, "disabled"),
    Output(ids.SEARCH_SEVERITY, "disabled"),
    Output(ids.SEARCH_STATE, "disabled"),
    Output(ids.SEARCH_KIND, "options"),
    Output(ids.SEARCH_QUERY, "data"),
    Input(ids.SEARCH_TEXT, "value"),
    Input(ids.SEARCH_KIND, "value"),
    Input(ids.SEARCH_PERIOD, "start_date"),
    Input(ids.SEARCH_PERIOD, "end_date"),
    Input(ids.SEARCH_AREA, "value"),
    Input(ids.SEARCH_SOURCE, "value"),
    Input(ids.SEARCH_CATEGORY, "value"),
    Input(ids.SEARCH_SEVERITY, "value"),
    Input(ids.SEARCH_STATE, "value"),
    Input(ids.LANG, "data"),
)
def run(q, kind, start_date, end_date, area, source, category, severity, state, lang):
    """One search: the newest matches, their map and histogram, and the facets' counts."""
    lang = normalise_language(lang)
    rt = _rt()
    kind = kind if kind in view.KINDS else "events"
    tz = rt.timezone
    equals, level = _equals(kind, source, category, severity, state)
    res = search.for_page(
        rt,
        current_user(),
        kind,
        q=q,
        labels=view.search_labels(rt.catalogue),
        start_date=start_date,
        end_date=end_date,
        area=area if isinstance(area, str) and area else None,
        equals=equals,
        level=level,
        limit=ROWS,
    )
    since, until, problem, records = res["since"], res["until"], res["problem"], res["rows"]
    facets = view.facet_options(kind, res["facets"], lang, rt.catalogue)
    used = view.FACETS[kind]
    api = {
        "q": (q or "").strip(),
        "since": iso(since),
        "until": iso(until),
        "area": area,
        **{k: (str(v) if v is not None else None) for k, v in equals.items()},
        "level": level,
    }
    shown = {
        "q": (q or "").strip(),
        "kind": kind,
        **res["address"],
        "area": area,
        "source": source,
        "category": category,
        "severity": severity,
        "state": state,
    }
    line = (
        t("search.error", lang).format(reason=problem)
        if problem
        else view.summary(res["total"], len(records), since, until, lang, tz)
    )
    return (
        view.rows(kind, records, lang, tz, rt.catalogue),
        view.columns(kind, lang),
        view.result_map(res["points"], res["counties"], res["bounds"], rt.settings.tile_url),
        view.histogram(res["histogram"], res["bucket"], lang),
        line,
        view.export_href(kind, "csv", api),
        view.export_href(kind, "xlsx", api),
        facets["source"],
        facets["category"],
        facets["severity"],
        facets["state"],
        "source" not in used,
        "category" not in used,
        "severity" not in used,
        "state" not in used,
        view.kind_options(lang),
        view.address(shown),
    )


# the address follows the search, without reloading the page
clientside_callback(
    """function (query) {
        if (query && window.location.search !== query) {
            window.history.replaceState(null, '', window.location.pathname + query);
        }
        return query || null;
    }""",
    Output(ids.SEARCH_URL_SYNC, "data"),
    Input(ids.SEARCH_QUERY, "data"),
    prevent_initial_call=True,
)
