"""The paired-difference interval the bench-suite tables use (ExperimentSuite.PairedDifference / Significant), for the
scripts that compute pairs outside it: mean of the differences with a 95% Student-t interval; '*' only with at least
3 seeds and an interval of some width (all seeds differing by the same amount give no interval)."""
import math, statistics

T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def paired_interval(d):
    """(mean, half-width or None when all seeds differ by the same amount, starred) of the differences d (len >= 2)."""
    m, sd = statistics.mean(d), statistics.stdev(d)
    if sd < 1e-9:                                   # all seeds differ by the same amount (to rounding)
        return m, None, False
    h = T975.get(len(d) - 1, 1.96) * sd / math.sqrt(len(d))
    return m, h, len(d) >= 3 and (m - h > 0 or m + h < 0)


def paired_cell(d):
    """Markdown cell for the differences d (len >= 2): 'mean [lo, hi] * (n=N)' or 'mean (the same on all N seeds...)'."""
    m, h, starred = paired_interval(d)
    if h is None:
        return f"{m:+.4f} (the same on all {len(d)} seeds: no interval)"
    return f"{m:+.4f} [{m - h:+.4f}, {m + h:+.4f}]{' *' if starred else ''} (n={len(d)})"
