"""The indicator catalogue: every figure OneGrid reports, each with one definition.

An indicator has an id, a unit, the levels it exists for, an optional dimension (what its rows
are broken down by besides the area: source, category, warning level, hotline subject,
department) and ONE function (in :mod:`data.indicators.definitions`) that computes it for an
area and a period ``[since, until)`` (UTC), optionally broken down ``by`` a lower level (one row
per area of that level inside the area). Names, definitions in words and unit names are in the
translation tables (``indicator.<id>.name``, ``indicator.<id>.definition``, ``unit.<unit>``), so
the API, the briefings and the screens show the same words.

Plain values only: no web framework here. The HTTP layer (web/indicators.py) and the briefings
(data/briefings) call :func:`compute`.
"""

from __future__ import annotations

from data.indicators import definitions  # noqa: F401 - registers the catalogue's entries
from data.indicators.core import (
    CATALOGUE,
    COLUMNS,
    DIMENSIONS,
    UNITS,
    Ask,
    Indicator,
    IndicatorError,
    areas_at,
    check_period,
    compute,
    get,
    reading_time,
    records,
    value,
)

__all__ = [
    "CATALOGUE",
    "COLUMNS",
    "DIMENSIONS",
    "UNITS",
    "Ask",
    "Indicator",
    "IndicatorError",
    "areas_at",
    "check_period",
    "compute",
    "get",
    "reading_time",
    "records",
    "value",
]
