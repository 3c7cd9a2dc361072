import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.analytics.errors import InputError, InsufficientDataError
from patron.analytics.evaluation import (
    binary_report,
    brier_score,
    calibration_table,
    log_loss,
    roc_auc,
    top_decile_lift,
    top_fraction_lift,
)


def test_it_computes_the_auc_of_a_hand_example() -> None:
    # Pairs (positive, negative): (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4): 3 of 4.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_it_counts_ties_as_one_half_in_the_auc() -> None:
    assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_it_refuses_the_auc_of_a_single_class() -> None:
    with pytest.raises(InsufficientDataError):
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])


def test_it_computes_the_lift_of_a_perfect_top_decile() -> None:
    y = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    score = [10, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # the single top case (score 10) is positive
    assert top_decile_lift(y, score) == pytest.approx(1.0 / 0.5)


def test_it_shares_tied_cases_at_the_edge_of_the_list_pro_rata() -> None:
    # 20 cases, top decile = 2 places: one positive alone at the top, then a tie of a positive
    # and a negative for the last place: expected positives 1 + 1/2, rate 0.75, base rate 5/20.
    y = np.array([1, 1, 0, 1, 1, 1] + [0] * 14)
    score = np.array([9.0, 5.0, 5.0, 1.0, 1.0, 1.0] + [0.0] * 14)
    assert top_decile_lift(y, score) == pytest.approx(0.75 / 0.25)


def test_it_gives_a_constant_score_a_lift_of_one() -> None:
    assert top_decile_lift([1, 0, 0, 1, 0, 0, 1, 0, 0, 0], [2.0] * 10) == pytest.approx(1.0)


def test_it_computes_the_lift_of_a_larger_fraction() -> None:
    y = [1, 1, 0, 0]
    assert top_fraction_lift(y, [4, 3, 2, 1], fraction=0.5) == pytest.approx(2.0)
    assert top_fraction_lift(y, [4, 3, 2, 1], fraction=1.0) == pytest.approx(1.0)


def test_it_refuses_a_fraction_outside_the_unit_interval() -> None:
    with pytest.raises(InputError):
        top_fraction_lift([1, 0], [1, 0], fraction=0.0)


def test_it_computes_the_brier_score_and_log_loss_of_a_hand_example() -> None:
    assert brier_score([1, 0], [0.8, 0.3]) == pytest.approx((0.2**2 + 0.3**2) / 2)
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2.0))
    assert log_loss([1, 0], [0.8, 0.3]) == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)


def test_it_keeps_the_log_loss_of_a_confident_mistake_finite() -> None:
    assert math.isfinite(log_loss([1], [0.0]))


def test_it_names_the_row_of_a_probability_out_of_range() -> None:
    with pytest.raises(InputError) as error:
        brier_score([1, 0, 1], [0.5, 1.2, 0.1])
    assert error.value.row == 2


def test_it_refuses_outcomes_that_are_not_binary() -> None:
    with pytest.raises(InputError) as error:
        roc_auc([0, 2, 1], [0.1, 0.2, 0.3])
    assert error.value.column == "y_true"


def test_it_refuses_inputs_of_different_lengths() -> None:
    with pytest.raises(InputError):
        brier_score([1, 0], [0.5])


def test_it_builds_a_calibration_table_of_uniform_bins() -> None:
    y = [0, 0, 1, 1, 1, 0]
    p = [0.05, 0.15, 0.55, 0.65, 0.95, 0.9]
    table = calibration_table(y, p, n_bins=2, strategy="uniform")
    assert table["n"].to_list() == [2, 4]
    assert table["observed_rate"].to_list() == pytest.approx([0.0, 0.75])
    assert table["mean_predicted"].to_list() == pytest.approx([0.1, 0.7625])
    assert table["gap"].to_list() == pytest.approx([-0.1, 0.75 - 0.7625])


def test_it_builds_quantile_bins_of_about_equal_counts() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < p).astype(int)
    table = calibration_table(y, p, n_bins=10)
    assert table.height == 10
    assert table["n"].min() >= 99
    assert table["bin"].to_list() == list(range(1, 11))
    # The probabilities are true, so every bin's gap is within sampling noise.
    noise = 3 * np.sqrt(table["mean_predicted"] * (1 - table["mean_predicted"]) / table["n"])
    assert (table["gap"].abs() <= noise + 0.02).all()


def test_it_reports_the_usual_figures_together() -> None:
    report = binary_report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert report["auc"] == pytest.approx(0.75)
    assert report["base_rate"] == pytest.approx(0.5)
    assert report["n"] == 4


outcomes_and_scores = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < n),
        st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None)
@given(outcomes_and_scores, st.randoms(use_true_random=False))
def test_it_does_not_depend_on_row_order(data: tuple[list[int], list[float]], rnd) -> None:
    y, p = np.array(data[0]), np.array(data[1])
    order = np.arange(y.size)
    rnd.shuffle(order)
    assert top_decile_lift(y[order], p[order]) == pytest.approx(top_decile_lift(y, p))
    assert roc_auc(y[order], p[order]) == pytest.approx(roc_auc(y, p))


@settings(max_examples=40, deadline=None)
@given(outcomes_and_scores)
def test_it_keeps_every_measure_in_its_range(data: tuple[list[int], list[float]]) -> None:
    y, p = np.array(data[0]), np.array(data[1])
    base = y.mean()
    assert 0.0 <= top_decile_lift(y, p) <= 1.0 / base + 1e-9
    assert roc_auc(y, p) + roc_auc(y, -p) == pytest.approx(1.0)
    assert 0.0 <= brier_score(y, p) <= 1.0
    table = calibration_table(y, p, n_bins=4)
    assert table["n"].sum() == y.size
    observed = (table["observed_rate"] * table["n"]).sum() / y.size
    assert observed == pytest.approx(base)
