"""The period picker and the export links the warnings page and the case board share (and the
metrics page's export links): the same components and the same read-API addresses, so a file
holds the rows the page shows. No SQL here; the period is read by :mod:`data.search`
(``page_period``, ``picker_days``), as the search page reads it."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html

from layouts.i18n import DEFAULT_LANGUAGE, t
from layouts.shell import i18n_text

FORMATS = ("csv", "xlsx")

# the address follows a desk page's period (a store holding ``since``/``until`` local dates, or
# nothing): the other parameters (``lang``...) stay, the page does not reload
ADDRESS_JS = """function (days) {
    const params = new URLSearchParams(window.location.search);
    for (const key of ['since', 'until']) {
        if (days && days[key]) { params.set(key, days[key]); } else { params.delete(key); }
    }
    const query = params.toString() ? '?' + params.toString() : '';
    if (window.location.search !== query) {
        window.history.replaceState(null, '', window.location.pathname + query);
    }
    return query;
}"""


def period_picker(id_: str, lang: str = DEFAULT_LANGUAGE) -> html.Div:
    """The date-range picker (local days, the last one included; empty: the page as live)."""
    return html.Div(
        [
            i18n_text("desk.period", lang, tag=html.Span),
            dcc.DatePickerRange(
                id=id_,
                display_format="YYYY-MM-DD",
                clearable=True,
                start_date_placeholder_text=t("desk.since", lang),
                end_date_placeholder_text=t("desk.until", lang),
            ),
        ],
        className="og-period og-desk-period",
    )


def placeholders(lang: str) -> tuple[str, str]:
    """The period picker's empty-field texts in ``lang``."""
    return t("desk.since", lang), t("desk.until", lang)


def export_links(csv_id: str, xlsx_id: str, place: str = "") -> list[html.A]:
    """The "CSV" and "Excel" links (their addresses come from the page's callback); ``place``
    tells apart several pairs on one page."""
    return [
        html.A(
            i18n_text(f"desk.export.{fmt}", place=place),
            id=id_,
            href="",
            download="",
            className="og-lang og-desk-export",
        )
        for fmt, id_ in zip(FORMATS, (csv_id, xlsx_id), strict=True)
    ]


def export_href(path: str, fmt: str, params: dict) -> str:
    """The address of ``path`` as a ``fmt`` file with the page's filters ``params`` (the API's
    names; a list or tuple: the parameter repeated, any of its values; empty ones left out)."""
    query = []
    for k, v in params.items():
        for one in v if isinstance(v, list | tuple) else [v]:
            if one not in (None, ""):
                query.append((k, str(one)))
    return f"{path}?" + urlencode([*query, ("format", fmt)])
