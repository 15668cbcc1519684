"""Statistics of the anomaly rule: how surprising a window's count is against its past weeks."""

from __future__ import annotations

import numpy as np
from scipy.stats import nbinom

# prior shape of the Gamma on a baseline rate (anomaly rule): half an event per window
PRIOR_SHAPE = 0.5
# -log10 p is capped here (beyond double precision meaning)
MAX_SCORE = 30.0


def negbin_tail_scores(obs, base_sum, weeks) -> np.ndarray:
    """-log10 P(X >= obs) for the count X of a window whose rate was seen ``weeks`` times.

    Vectorised over broadcastable arrays. The rate gets a Gamma(PRIOR_SHAPE + base_sum, weeks)
    posterior from the past windows, so X is negative binomial (a Poisson whose rate is only
    estimated) with ``n = PRIOR_SHAPE + base_sum`` and ``p = weeks / (weeks + 1)``; its upper tail
    comes from scipy in log space, exact down to tiny probabilities. ``obs <= 0`` scores 0, and
    scores are capped at :data:`MAX_SCORE`.
    """
    obs, base, wk = np.broadcast_arrays(
        np.asarray(obs, dtype="float64"),
        np.asarray(base_sum, dtype="float64"),
        np.asarray(weeks, dtype="float64"),
    )
    r = PRIOR_SHAPE + base
    q = wk / (wk + 1.0)  # success probability
    with np.errstate(divide="ignore"):  # a tail below the smallest double: log 0, capped below
        log_p = nbinom.logsf(obs - 1.0, r, q)  # P(X >= obs) = P(X > obs - 1)
    score = np.clip(-log_p / np.log(10.0), 0.0, MAX_SCORE)
    return np.where(obs <= 0, 0.0, score)


def negbin_tail_score(obs: int, base_sum: float, weeks: int) -> float:
    """:func:`negbin_tail_scores` of one window."""
    return float(negbin_tail_scores(obs, base_sum, weeks))
