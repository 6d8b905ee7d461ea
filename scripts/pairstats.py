"""The paired-difference interval the bench-suite tables use (ExperimentSuite.PairedDifference / Significant), for the
scripts that compute pairs outside it: mean of the differences with a 95% Student-t interval; '*' only with at least
3 seeds and an interval of some width (all seeds differing by the same amount give no interval)."""
import math, statistics

# Student t's 97.5% quantile by degrees of freedom (scipy.stats.t.ppf, 4 decimals); between the tabled 30, 40, 60, 120
# and infinity, interpolated in 1/df (error < 1e-3). The C# side (ExperimentSuite.PairedDifference) computes it exactly
# with MathNet; PairStatsTests checks the two agree.
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.306, 9: 2.2622, 10: 2.2281,
        11: 2.201, 12: 2.1788, 13: 2.1604, 14: 2.1448, 15: 2.1314, 16: 2.1199, 17: 2.1098, 18: 2.1009, 19: 2.093,
        20: 2.086, 21: 2.0796, 22: 2.0739, 23: 2.0687, 24: 2.0639, 25: 2.0595, 26: 2.0555, 27: 2.0518, 28: 2.0484,
        29: 2.0452, 30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799}


def t975(df):
    """Student t's 97.5% quantile at df degrees of freedom (df >= 1)."""
    if df in T975:
        return T975[df]
    knots = sorted(T975) + [math.inf]
    hi = next(k for k in knots if k > df)
    lo = max(k for k in knots if k < df)
    inv = lambda k: 0.0 if k == math.inf else 1.0 / k
    v_hi = 1.959964 if hi == math.inf else T975[hi]
    w = (inv(lo) - inv(df)) / (inv(lo) - inv(hi))
    return T975[lo] + w * (v_hi - T975[lo])


def paired_interval(d):
    """(mean, half-width or None when all seeds differ by the same amount, starred) of the differences d (len >= 2)."""
    m, sd = statistics.mean(d), statistics.stdev(d)
    if sd < 1e-9:                                   # all seeds differ by the same amount (to rounding)
        return m, None, False
    h = t975(len(d) - 1) * sd / math.sqrt(len(d))
    return m, h, len(d) >= 3 and (m - h > 0 or m + h < 0)


def paired_cell(d):
    """Markdown cell for the differences d (len >= 2): 'mean [lo, hi] * (n=N)' or 'mean (the same on all N seeds...)'."""
    m, h, starred = paired_interval(d)
    if h is None:
        return f"{m:+.4f} (the same on all {len(d)} seeds: no interval)"
    return f"{m:+.4f} [{m - h:+.4f}, {m + h:+.4f}]{' *' if starred else ''} (n={len(d)})"
