"""The statistics of an evaluation: a pass rate's interval and a paired test of two.

:func:`wilson_interval` is the Wilson score interval of a binomial proportion (good at
small samples and at rates of 0 or 1, where the normal approximation is not).
:func:`mcnemar_exact` is McNemar's exact test for paired outcomes: of the tasks whose
outcome differs between two evaluations, ``b`` passed only in the first and ``c`` only
in the second; under "no difference" each discordant task is a fair coin, so the
two-sided p-value is ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Binomial(b + c, 1/2)``.
"""

from __future__ import annotations

import math

__all__ = ["Z95", "mcnemar_exact", "wilson_interval"]

#: The standard normal quantile of 0.975 (a two-sided 95% interval).
Z95 = 1.959963984540054


def wilson_interval(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of ``passed`` successes in ``n`` trials ((0, 1) for none)."""
    if not 0 <= passed <= n:
        raise ValueError(f"passed={passed} is not within 0..n={n}")
    if n == 0:
        return 0.0, 1.0
    p = passed / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == n else min(1.0, centre + half)
    return low, high


def mcnemar_exact(b: int, c: int) -> float:
    """The two-sided exact McNemar p-value of ``b`` and ``c`` discordant pairs."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts cannot be negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / (1 << n))
