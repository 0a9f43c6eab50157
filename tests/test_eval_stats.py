"""The evaluation statistics against published values and their defining properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.eval.stats import mcnemar_exact, wilson_interval


@pytest.mark.parametrize(
    ("passed", "n", "low", "high"),
    [
        (5, 10, 0.2366, 0.7634),  # the textbook example (Newcombe 1998, Agresti-Coull)
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_the_wilson_interval_matches_known_values(
    passed: int, n: int, low: float, high: float
) -> None:
    got = wilson_interval(passed, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_no_trials_give_the_whole_unit_interval() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_wilson_interval_holds_the_observed_rate(case: tuple[int, int]) -> None:
    passed, n = case
    low, high = wilson_interval(passed, n)
    assert 0.0 <= low <= passed / n <= high <= 1.0


@given(st.integers(1, 200), st.integers(1, 200))
def test_more_trials_at_the_same_rate_narrow_the_interval(passed: int, extra: int) -> None:
    n = passed + extra
    low, high = wilson_interval(passed, n)
    low2, high2 = wilson_interval(passed * 4, n * 4)
    assert high2 - low2 < high - low


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (1, 6, 0.125),  # 2 * (1 + 7) / 2**7
        (0, 5, 0.0625),  # 2 / 2**5
        (3, 3, 1.0),
        (0, 0, 1.0),
        (2, 12, 0.012939453125),  # 2 * (1 + 14 + 91) / 2**14
    ],
)
def test_the_exact_mcnemar_p_value_matches_the_binomial_tail(b: int, c: int, p: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)


@given(st.integers(0, 300), st.integers(0, 300))
def test_the_mcnemar_p_value_is_symmetric_and_a_probability(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    assert p == mcnemar_exact(c, b)
    assert 0.0 < p <= 1.0
