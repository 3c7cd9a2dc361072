"""The common shape of the purchase-count models (BG/NBD, MBG/NBD, Pareto/NBD)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Self

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import betaln, hyp2f1, log_expit

from patron.analytics.clv._base import (
    Array,
    FittedModel,
    LogLik,
    frequency_arrays,
    levels_and_codes,
    maximize,
)
from patron.analytics.errors import InputError, InsufficientDataError


def _check_horizon(t: float) -> float:
    if not np.isfinite(t) or t < 0:
        raise InputError(f"t must be a finite duration >= 0, got {t!r}")
    return float(t)


# Distinct rows are found with a lookup table over the key space when that space is at most
# this large (a few MB, filled in one pass, no sort), and by sorting the keys otherwise.
_TABLE_KEYS = 1 << 22


def _row_keys(*columns: Array) -> tuple[NDArray[np.int64], list[Array], int] | None:
    """One integer per row whose order is the rows' lexicographic order (None if too many).

    Each column is replaced by its rank among its own distinct values and the ranks are
    combined in mixed radix: one sort of integers (or a table lookup, see `_TABLE_KEYS`) then
    finds the distinct rows, instead of a lexsort of floats (or ``np.unique(axis=0)``, which
    sorts a void view). Returns the keys, each column's distinct values and the key span.
    """
    key = np.zeros(columns[0].size, dtype=np.int64)
    span = 1
    all_levels = []
    for column in columns:
        levels, code = levels_and_codes(column)
        span *= max(levels.size, 1)
        if span >= 2**62:
            return None
        key = key * levels.size + code
        all_levels.append(levels)
    return key, all_levels, span


def _split(keys: NDArray[np.int64], all_levels: list[Array]) -> list[NDArray[np.int64]]:
    """Each column's level codes in mixed-radix keys made by `_row_keys`."""
    codes = []
    for levels in reversed(all_levels):
        keys, code = np.divmod(keys, max(levels.size, 1))
        codes.append(code)
    return codes[::-1]


def unique_rows(*columns: Array) -> tuple[list[Array], NDArray[np.intp]]:
    """Distinct rows of equal-length columns (sorted) and each input row's index among them."""
    keyed = _row_keys(*columns)
    if keyed is None:
        return _unique_rows_lexsort(*columns)
    key, all_levels, span = keyed
    if span <= _TABLE_KEYS:
        present = np.zeros(span, dtype=bool)
        present[key] = True
        distinct = np.flatnonzero(present)
        index = (np.cumsum(present) - 1)[key]
    else:
        distinct, index = np.unique(key, return_inverse=True)
    codes = _split(distinct, all_levels)
    return [levels[c] for levels, c in zip(all_levels, codes, strict=True)], index.ravel()


def _counted_codes(
    *columns: Array,
) -> tuple[list[Array], list[NDArray[np.int64]], Array] | None:
    """Each column's levels, the level codes of the distinct rows (sorted) and their counts."""
    keyed = _row_keys(*columns)
    if keyed is None:
        return None
    key, all_levels, span = keyed
    if span <= _TABLE_KEYS:
        counts = np.bincount(key, minlength=span)
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:
        keys, counts = np.unique(key, return_counts=True)  # a sort of the keys, no argsort
    return all_levels, _split(keys, all_levels), counts.astype(np.float64)


def counted_rows(*columns: Array) -> tuple[list[Array], Array]:
    """Distinct rows (sorted) and how many times each occurs."""
    coded = _counted_codes(*columns)
    if coded is None:
        distinct, index = _unique_rows_lexsort(*columns)
        return distinct, np.bincount(index).astype(np.float64)
    all_levels, codes, counts = coded
    return [levels[c] for levels, c in zip(all_levels, codes, strict=True)], counts


def counted_distinct_rows(x: Array, t_x: Array, T: Array) -> tuple[Rows, Array]:
    """Distinct (x, t_x, T) rows with their level tables, and how many customers each holds."""
    coded = _counted_codes(x, t_x, T)
    if coded is None:
        (ux, ut, uT), counts = counted_rows(x, t_x, T)
        return Rows(ux, ut, uT), counts
    all_levels, codes, counts = coded
    rows = Rows(*(levels[c] for levels, c in zip(all_levels, codes, strict=True)))
    # Every level of a column occurs in some distinct row, so the level tables of the rows are
    # the columns' own, already found: stored in the cached properties, not searched again.
    names = ("x_levels", "t_x_levels", "T_levels")
    for name, levels, code in zip(names, all_levels, codes, strict=True):
        rows.__dict__[name] = (levels, code)
    return rows, counts


def _unique_rows_lexsort(*columns: Array) -> tuple[list[Array], NDArray[np.intp]]:
    order = np.lexsort(columns[::-1])
    changed = np.zeros(order.size, dtype=bool)
    if order.size:
        changed[0] = True
        for column in columns:
            sorted_column = column[order]
            changed[1:] |= sorted_column[1:] != sorted_column[:-1]
    group = np.cumsum(changed) - 1
    index = np.empty(order.size, dtype=np.intp)
    index[order] = group
    firsts = order[changed]
    return [column[firsts] for column in columns], index


@dataclass(eq=False)
class Rows:
    """Distinct (x, t_x, T) rows, with level tables computed once and reused at every step.

    Special functions of r + x, or of (x, t) pairs, are evaluated on the few distinct levels
    and indexed back: on day-stamped data that is most of the cost of a likelihood evaluation.
    """

    x: Array
    t_x: Array
    T: Array

    @cached_property
    def x_levels(self) -> tuple[Array, NDArray[np.intp]]:
        """Distinct values of x and the index of each row's value."""
        return levels_and_codes(self.x)

    @cached_property
    def ends(self) -> tuple[Array, Array, NDArray[np.intp], NDArray[np.intp]]:
        """Distinct (x, t) pairs over t in {t_x, T}: (x, t, index of (x, t_x), index of (x, T))."""
        n = self.x.size
        (xs, ts), index = unique_rows(
            np.concatenate([self.x, self.x]), np.concatenate([self.t_x, self.T])
        )
        return xs, ts, index[:n], index[n:]

    @cached_property
    def T_levels(self) -> tuple[Array, NDArray[np.intp]]:
        """Distinct values of T and the index of each row's value."""
        return levels_and_codes(self.T)

    @cached_property
    def t_x_levels(self) -> tuple[Array, NDArray[np.intp]]:
        """Distinct values of t_x and the index of each row's value."""
        return levels_and_codes(self.t_x)

    def level_weights(self, weights: Array) -> tuple[Array, Array, Array]:
        """Summed weights per x level, per T level, and of w * x per T level (kept for reuse).

        The fit calls the likelihood with the same weights at every step: the sums are made
        once and the terms that depend on x or on T alone become dot products over levels.
        """
        cached = self.__dict__.get("_level_weights")
        if cached is not None and cached[0] is weights:
            return cached[1]
        x_index, T_index = self.x_levels[1], self.T_levels[1]
        sums = (
            np.bincount(x_index, weights=weights, minlength=self.x_levels[0].size),
            np.bincount(T_index, weights=weights, minlength=self.T_levels[0].size),
            np.bincount(T_index, weights=weights * self.x, minlength=self.T_levels[0].size),
        )
        self.__dict__["_level_weights"] = (weights, sums)
        return sums

    def by_x(self, values: Array) -> Array:
        """Spread values computed on ``x_levels[0]`` to the rows."""
        return values[self.x_levels[1]]

    def subset(self, rows: NDArray[np.int64]) -> Rows:
        return Rows(self.x[rows], self.t_x[rows], self.T[rows])


def distinct_rows(x: Array, t_x: Array, T: Array) -> tuple[Rows, NDArray[np.intp]]:
    """Distinct (x, t_x, T) rows and, for each input row, the index of its distinct row."""
    (ux, ut, uT), inverse = unique_rows(x, t_x, T)
    return Rows(ux, ut, uT), inverse


def _log_odds_nodes(step: float = 1.0 / 16.0, s_max: float = 8.5) -> tuple[Array, Array]:
    """Nodes y = 2 sinh(s) on the real line and their trapezoid weights (double exponential)."""
    s = np.arange(-s_max, s_max + step / 2, step)
    return 2.0 * np.sinh(s), 2.0 * np.cosh(s) * step


_Y, _DY = _log_odds_nodes()
_LOG_P, _LOG_Q, _LOG_DY = log_expit(_Y), log_expit(-_Y), np.log(_DY)
# A node whose term is below e^-40 of the largest one cannot move the sum (273 such terms are
# < 1e-15 of it): it is skipped, which leaves about a quarter of the nodes for heavy buyers.
_NEGLIGIBLE = 40.0
_QUADRATURE_CHUNK = 512  # rows per block: sorted by x, a block needs about the same nodes


def _expected_alive_by_quadrature(r_x: Array, a: float, b: Array, horizon: Array) -> Array:
    """E_p[(1 - (1 + p h)^-(r+x)) / p] for p ~ Beta(a, b), by quadrature in log-odds of p.

    In y = log(p / (1-p)) the integrand is smooth and decays like exp(a y) and exp(-b y), so
    the trapezoid rule on y = 2 sinh(s) converges fast whatever a and b; every factor is
    taken in log space, so no tail underflows or overflows (relative accuracy ~1e-6).
    ``horizon`` is (rows,) or (rows, horizons): the weights of the nodes, which depend on the
    row only, are then computed once for all horizons.
    """
    h = horizon.reshape(r_x.size, -1)
    p = np.exp(_LOG_P)
    out = np.empty(h.shape)
    for start in range(0, r_x.size, _QUADRATURE_CHUNK):
        part = slice(start, start + _QUADRATURE_CHUNK)
        rx, bb = r_x[part, None], b[part, None]
        log_weight = (a - 1.0) * _LOG_P + bb * _LOG_Q - betaln(a, bb) + _LOG_DY
        nodes = _contributing_nodes(
            log_weight, rx, h[part].min(axis=1, keepdims=True), h[part].max(axis=1, keepdims=True)
        )
        p_nodes, log_weight = p[nodes], log_weight[:, nodes]
        for j in range(h.shape[1]):
            with np.errstate(divide="ignore"):  # p h underflowing to 0 buys nothing: log 0 = -inf
                log_bought = np.log(-np.expm1(-rx * np.log1p(p_nodes * h[part, j, None])))
            out[part, j] = np.exp(log_bought + log_weight).sum(axis=1)
    return out.reshape(horizon.shape)


def _contributing_nodes(
    log_weight: Array, r_x: Array, shortest: Array, longest: Array
) -> NDArray[np.bool_]:
    """The nodes whose term is within e^-`_NEGLIGIBLE` of the largest one, for some row.

    With u = p h and k = r + x the bought factor 1 - (1 + u)^-k lies between
    (1 - 1/e) min(1, k min(u, 1) / 2) (from log(1 + u) >= u / (1 + u)) and min(1, k u)
    (Bernoulli), and grows with h: a node above the floor set by the lower bound at the
    shortest horizon at no horizon up to the longest cannot matter. Bounds in log space, with
    no transcendental function per node.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = log_weight + np.minimum(0.0, np.log(r_x) + _LOG_P + np.log(longest))
        log_u = np.minimum(_LOG_P + np.log(shortest), 0.0)
        lower = log_weight + np.minimum(0.0, np.log(r_x / 2) + log_u)
        floor = lower.max(axis=1, keepdims=True) + np.log1p(-np.exp(-1.0)) - _NEGLIGIBLE
        return np.any(upper >= floor, axis=0)


def beta_geometric_expected_alive(
    r: float,
    alpha: float,
    a: float,
    b: Array | float,
    x: Array,
    T: Array,
    t: float | Sequence[float] | Array,
) -> Array:
    """Expected purchases in (T, T+t] of a customer alive at T, under a beta-geometric dropout.

    The transaction rate is Gamma(r + x, alpha + T) and the dropout probability after each
    purchase Beta(a, b) a posteriori, so (Fader, Hardie & Lee 2005, eq. 10)

        (a+b-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b; a+b-1; t/(alpha+T+t))],

    that is E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p]. scipy's 2F1 is used where it is safe;
    where it overflows (heavy buyers), where a + b <= 1 (negative third argument), or where
    the value leaves its bounds [0, (r+x) t/(alpha+T)], the expectation over p is computed by
    quadrature instead. At a = 1 the 2F1 form is a limit, reached by nudging a by 1e-7.
    With several horizons ``t`` the result has one column per horizon.
    """
    x, T = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64))
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), x.shape)
    times = np.atleast_1d(np.asarray(t, dtype=np.float64))
    a_safe = 1.0 + 1e-7 if abs(a - 1.0) < 1e-7 else a
    r_x = r + x
    # Rows left to the quadrature whatever the horizon: 2F1 is not evaluated there at all.
    risky = (a_safe + b - 1.0 <= 0.5) | (r_x > 100)
    out = np.full((x.size, times.size), np.nan)
    safe = ~risky
    if np.any(safe):
        rs, bs, Ts = r_x[safe, None], b[safe, None], T[safe, None]
        horizon = alpha + Ts + times
        with np.errstate(all="ignore"):
            log_ratio = rs * (np.log(alpha + Ts) - np.log(horizon))
            f = hyp2f1(rs, bs, a_safe + bs - 1.0, times / horizon)
            out[safe] = (a_safe + bs - 1.0) / (a_safe - 1.0) * -np.expm1(log_ratio + np.log(f))
    upper = r_x[:, None] * times / (alpha + T[:, None])
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(out) | (out < 0) | (out > upper * (1 + 1e-9))
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        by_quadrature = _expected_alive_by_quadrature(
            r_x[rows], a, b[rows], times / (alpha + T[rows, None])
        )
        out[rows] = np.where(bad[rows], by_quadrature, out[rows])
    return out if np.ndim(t) else out[:, 0]


@dataclass(frozen=True, eq=False)
class Forecast:
    """Conditional expected purchases of many customers over several horizons, factored.

    A customer's expected purchases in (T, T + t] are P(alive at T) times those of a customer
    alive at T, and the latter depend on (x, T) only. Kept in that form, a million customers'
    forecasts over a dozen horizons cost one gather per horizon, not a million-by-a-dozen
    matrix: customer i, horizon j is ``p_alive[i] * by_pair[pair[i], j]``.
    """

    p_alive: Array  # (customers,)
    by_pair: Array  # (distinct (x, T) pairs, horizons): expected purchases given alive
    pair: NDArray[np.intp]  # (customers,): each customer's pair

    def horizon(self, j: int) -> Array:
        """Expected purchases of every customer over horizon ``j``."""
        return self.p_alive * self.by_pair[self.pair, j]

    def cumulative(self) -> Array:
        """Expected purchases, shape (customers, horizons)."""
        return self.p_alive[:, None] * self.by_pair[self.pair]

    def select(self, columns: slice) -> Forecast:
        """The same customers over some of the horizons."""
        return Forecast(self.p_alive, self.by_pair[:, columns], self.pair)


class PurchaseModel(FittedModel):
    """Base of the models of repeat purchasing fitted on (x, t_x, T).

    Subclasses define ``PARAM_NAMES`` (four of them), ``_row_terms(theta, rows)`` (per-row
    log-likelihood and its gradient in the natural parameters; ``_loglik`` sums them and may
    be overridden by a cheaper weighted sum), and the predictions ``_p_alive(rows)``,
    ``_expected_alive(t, rows)`` (a function of x and T only) and ``expected_purchases(t)``
    on :class:`Rows` (``_expected_alive_over`` gives several horizons at once and may be
    overridden when they share work). ``_ELEMENTWISE_P_ALIVE``: P(alive) is cheap enough to
    evaluate on every row rather than on the distinct rows. ``_EXACT_HESSIAN``:
    ``_loglik_hessian`` is defined, so the fit is finished by Newton's method (see
    :func:`patron.analytics.clv._base.maximize`).
    """

    _ELEMENTWISE_P_ALIVE = False
    _EXACT_HESSIAN = False  # whether ``_loglik_hessian`` is defined

    def _row_terms(self, theta: Array, rows: Rows) -> tuple[Array, Array]:
        """Per-row log-likelihood (n,) and its gradient in the natural parameters (k, n)."""
        raise NotImplementedError

    def _loglik_hessian(
        self, theta: Array, rows: Rows, weights: Array
    ) -> tuple[float, Array, Array]:
        """``_loglik`` with the Hessian (k, k) of the weighted sum, where it is known."""
        raise NotImplementedError

    def _loglik(self, theta: Array, rows: Rows, weights: Array) -> tuple[float, Array]:
        ll, grad = self._row_terms(theta, rows)
        # Plain reductions, not BLAS: see the note on threads in _base.maximize.
        return float(np.sum(weights * ll)), np.sum(grad * weights, axis=1)

    def _start(self, x: Array, t_x: Array, T: Array, weights: Array) -> Array:
        """Starting values: a purchase rate near the observed one, moderate heterogeneity."""
        rate = np.sum(weights * x) / max(np.sum(weights * T), 1e-12)
        scale = 1.0 / max(rate, 1e-6)
        return np.array([1.0, scale, 1.0, 1.0])

    def fit(self, summary: pl.DataFrame) -> Self:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        summary : pl.DataFrame
            Columns ``x`` (repeat purchases), ``t_x`` (time of the last purchase) and ``T``
            (age at the end of calibration), as made by
            :func:`patron.analytics.summary.customer_summary`; other columns are ignored.

        Returns
        -------
        self
            With ``params_``, ``loglik_`` (at the optimum, penalty excluded), ``n_customers_``,
            ``n_distinct_`` (distinct (x, t_x, T) rows actually evaluated), ``converged_``
            (gradient ~ 0 and no parameter at its bound), ``n_iter_`` and
            ``standard_errors_`` (from the inverse Hessian; NaN where it is singular).

        Raises
        ------
        InputError
            Malformed summary (see :func:`patron.analytics.clv._base.frequency_arrays`).
        InsufficientDataError
            Fewer customers than parameters, or nobody made a repeat purchase (the purchase
            rate and the dropout cannot be told apart).
        ConvergenceError
            The likelihood has no finite optimum from the starting point.
        """
        self._check_penalizer()
        x, t_x, T = frequency_arrays(summary)
        if x.size < len(self.PARAM_NAMES):
            raise InsufficientDataError(
                f"{x.size} customer(s) cannot identify {len(self.PARAM_NAMES)} parameters"
            )
        if not np.any(x > 0):
            raise InsufficientDataError("no customer made a repeat purchase: nothing to fit")
        everything, weights = counted_distinct_rows(x, t_x, T)
        n_rows = weights.size

        def make_loglik(subset: NDArray[np.int64] | None) -> LogLik:
            if subset is None:
                rows, w = everything, weights
            else:
                rows, w = everything.subset(subset), weights[subset] * (n_rows / subset.size)
            return lambda theta: self._loglik(theta, rows, w)

        start = self._start(everything.x, everything.t_x, everything.T, weights)
        result = maximize(
            make_loglik,
            start,
            n_customers=float(x.size),
            n_rows=n_rows,
            penalizer=self.penalizer,
            loglik_hessian=(
                (lambda theta: self._loglik_hessian(theta, everything, weights))
                if self._EXACT_HESSIAN
                else None
            ),
        )
        return self._store(result, int(x.size), n_rows)

    def loglik(self, summary: pl.DataFrame) -> np.ndarray:
        """Log-likelihood of each customer's (x, t_x, T) under the fitted parameters."""
        theta = np.array(self._params())
        rows, inverse = distinct_rows(*frequency_arrays(summary))
        return self._row_terms(theta, rows)[0][inverse]

    # Predictions -----------------------------------------------------------------------------

    def _p_alive(self, rows: Rows) -> Array:
        raise NotImplementedError

    def _expected_alive(self, t: float, rows: Rows) -> Array:
        """Expected purchases in (T, T+t] given alive at T."""
        raise NotImplementedError

    def _expected_alive_over(self, times: Sequence[float], rows: Rows) -> Array:
        """``_expected_alive`` for several horizons, shape (rows, len(times))."""
        out = np.empty((rows.x.size, len(times)))
        for j, t in enumerate(times):
            out[:, j] = self._expected_alive(t, rows)
        return out

    def _p_alive_of(self, x: Array, t_x: Array, T: Array) -> Array:
        if self._ELEMENTWISE_P_ALIVE:
            # A few logs per row: cheaper than finding the distinct rows first.
            return np.asarray(self._p_alive(Rows(x, t_x, T)))
        rows, inverse = distinct_rows(x, t_x, T)
        return np.asarray(self._p_alive(rows))[inverse]

    def probability_alive(self, summary: pl.DataFrame) -> np.ndarray:
        """P(the customer is still active at T | x, t_x, T), one value per row of ``summary``."""
        self._params()
        x, t_x, T = frequency_arrays(summary)
        return self._p_alive_of(x, t_x, T) if x.size else np.empty(0)

    def forecast(self, times: Sequence[float], summary: pl.DataFrame) -> Forecast:
        """Conditional expected purchases in (T, T + t] for several horizons, in factored form.

        P(alive) is computed once per customer and the expectation given alive once per
        distinct (x, T) and horizon (see :class:`Forecast`): what a refresh that needs both,
        over many horizons (CLV month by month), asks for.

        Parameters
        ----------
        times : sequence of float
            Horizons, in the summary's time unit.
        summary : pl.DataFrame
            Columns ``x``, ``t_x`` and ``T``.
        """
        self._params()
        horizons = [_check_horizon(t) for t in times]
        x, t_x, T = frequency_arrays(summary)
        if x.size == 0:
            return Forecast(np.empty(0), np.empty((0, len(horizons))), np.empty(0, np.intp))
        (ux, uT), pair = unique_rows(x, T)
        pairs = Rows(ux, uT, uT)  # t_x is not used by _expected_alive
        by_pair = self._expected_alive_over(horizons, pairs)
        return Forecast(self._p_alive_of(x, t_x, T), by_pair, pair)

    def conditional_expected_purchases(self, t: float, summary: pl.DataFrame) -> np.ndarray:
        """Expected purchases in the next ``t`` time units, (T, T + t], given the history.

        Parameters
        ----------
        t : float
            Horizon, in the summary's time unit.
        summary : pl.DataFrame
            Columns ``x``, ``t_x`` and ``T``.

        Returns
        -------
        np.ndarray
            One value per row of ``summary``.
        """
        return self.forecast([t], summary).horizon(0)

    def cumulative_expected_purchases(
        self, times: Sequence[float], summary: pl.DataFrame
    ) -> np.ndarray:
        """Conditional expected purchases in (T, T + t] for several horizons at once.

        Parameters
        ----------
        times : sequence of float
            Horizons, in the summary's time unit.
        summary : pl.DataFrame
            Columns ``x``, ``t_x`` and ``T``.

        Returns
        -------
        np.ndarray
            Shape (rows of ``summary``, len(times)); column j equals
            ``conditional_expected_purchases(times[j], summary)``.
        """
        return self.forecast(times, summary).cumulative()

    def expected_purchases(self, t: float) -> float:
        """Expected repeat purchases in (0, t] of a new customer (first purchase at 0)."""
        raise NotImplementedError
