"""Statistics of the anomaly rule: how surprising a window's count is against its past weeks."""

from __future__ import annotations

import math

# prior shape of the Gamma on a baseline rate (anomaly rule): half an event per window
PRIOR_SHAPE = 0.5
# -log10 p is capped here (beyond double precision meaning)
MAX_SCORE = 30.0


def negbin_tail_score(obs: int, base_sum: float, weeks: int) -> float:
    """-log10 P(X >= obs) for the count X of a window whose rate was seen ``weeks`` times.

    The rate gets a Gamma(PRIOR_SHAPE + base_sum, weeks) posterior from the past windows, so X is
    negative binomial (a Poisson whose rate is only estimated): its tail is summed term by term from
    ``obs`` upwards in log space, exact down to tiny probabilities.
    """
    if obs <= 0:
        return 0.0
    r = PRIOR_SHAPE + float(base_sum)
    q = weeks / (weeks + 1.0)  # success probability
    log_q, log_1q, lg_r = math.log(q), math.log1p(-q), math.lgamma(r)
    total, x = 0.0, int(obs)
    first = None
    while True:
        lp = math.lgamma(x + r) - lg_r - math.lgamma(x + 1) + r * log_q + x * log_1q
        if first is None:
            first = lp
        term = math.exp(lp - first)
        total += term
        x += 1
        if term < 1e-12 * total or x - obs > 100_000:
            break
    log10p = (first + math.log(total)) / math.log(10)
    return min(max(-log10p, 0.0), MAX_SCORE)
