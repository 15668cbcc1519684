"""Simulated live feeds for the five domains (police, traffic, environment, market, hotline).

The simulator turns a grid of cells (one row per grid cell: key, code, geometry, population, kind
and optionally county_key) into realistic canonical event frames (docs/ARCHITECTURE.md). Mixes,
volumes and rhythms follow docs/DOMAIN.md section 2; spatial weights follow section 1
(people-driven feeds by population, environment stations dense in urban and sparse in rural cells).

Determinism and window consistency
----------------------------------
Time is split into fixed one-hour slots (hours since the Unix epoch, UTC). Everything in a slot is
derived from the seed, the source and the slot alone: counting processes draw from
``numpy.random.default_rng([seed, source_index, slot])`` and regular readings (air stations, road
segments) use a counter-based hash of (seed, stream, slot, station). A call generates whole slots
and then keeps the rows with ``start <= time < end``, so generating [a, c) equals concatenating
[a, b) and [b, c), and ids ``f"{source}-{slot}-{i}"`` (i = rank by time inside the slot) are stable and
unique. ``SimulatorFeed`` relies on this to emit small windows that add up to one big window.

Episodes
--------
Injected episodes (pollution episode, traffic pile-up, market complaint burst about one business,
police disturbance burst) are drawn per seed and per week and exposed by ``Simulator.episodes`` as
ground truth. ``Episode.factor`` is the PM2.5 multiplier at the affected stations for ``pollution``
and the number of extra events per hour in the episode's cell for the burst kinds.

Rates are events per day for the whole city. For counting sources (police, market, hotline and the
accidents / hazards / violations of traffic) they scale the Poisson intensity; for regular readings
(environment stations, traffic congestion segments) they scale the number of stations or segments.
The hotline rate is the volume outside the heating season; heating complaints come on top of it
from November to March (docs/DOMAIN.md 2.5).

Modules
-------
``parameters`` (volumes, rates, profiles, probabilities), ``tables`` (text tables, vocabularies),
``streams`` (hash-based random streams), ``frames`` (times, rendering, the event frame),
``places`` (stations, segments, businesses), ``episodes``, one module per source (``police``,
``traffic``, ``environment`` with the AQI functions, ``market``, ``hotline``), ``core`` (the
``Simulator``), ``feed`` (the live ``SimulatorFeed``) and ``departments`` (simulated departments
working the simulated cases; imported on its own, it is not re-exported here).
"""

from __future__ import annotations

from data.feeds.simulator.core import Simulator
from data.feeds.simulator.environment import AQI_BREAKPOINTS, aqi, aqi_level, iaqi
from data.feeds.simulator.episodes import Episode
from data.feeds.simulator.feed import SimulatorFeed
from data.feeds.simulator.parameters import DEFAULT_RATES

__all__ = [
    "AQI_BREAKPOINTS",
    "DEFAULT_RATES",
    "Episode",
    "Simulator",
    "SimulatorFeed",
    "aqi",
    "aqi_level",
    "iaqi",
]
