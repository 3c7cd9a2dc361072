"""What the lifetime-value estimators share: input checks, compression and the ML fit.

Every model is fitted by maximum likelihood on log-parameters (so the parameters stay positive)
with L-BFGS-B and an exact gradient. Fitting works on the table of distinct inputs with a count
per row: customers with the same (x, t_x, T) contribute the same log-likelihood, and on
day-resolution data a million customers fold into far fewer distinct rows. A model that also
gives the exact Hessian (BG/NBD, Gamma-Gamma) is finished by Newton's method, which needs a
handful of passes over the full data where L-BFGS needs a few dozen, and whose last Hessian
gives the standard errors without finite differences.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from patron.analytics.errors import ConvergenceError, InputError, NotFittedError

Array = NDArray[np.float64]
# Objective of the natural parameters: (summed log-likelihood, its gradient), per-row weighted.
LogLik = Callable[[Array], tuple[float, Array]]
# The same with the Hessian of the summed log-likelihood in the natural parameters.
LogLikHessian = Callable[[Array], tuple[float, Array, Array]]

_GRADIENT_TOL = 1e-5  # max |d(-LL/N) / d log theta| accepted as converged
_SUBSAMPLE_ROWS = 20_000  # warm start on this many distinct rows when there are many more
_WARM_GRADIENT_TOL = 1e-5  # of the warm start (L-BFGS-B's gtol; 1e-8 on the full data)
_LOG_BOUND = 25.0  # |log theta| bound of the search
# Newton stops when the gradient of -LL/N in log theta is this small (ten times below the
# gtol=1e-8 of L-BFGS-B, and Newton gets there with the last step from ~1e-5), or when the step
# it proposes would change -LL/N by less than _NEWTON_DECREMENT: rounding noise.
_NEWTON_GRADIENT_TOL = 1e-9
_NEWTON_DECREMENT = 1e-20
_NEWTON_MAX_ITER = 30


def require_columns(summary: pl.DataFrame, columns: Sequence[str]) -> None:
    """Raise InputError naming the first missing column."""
    if not isinstance(summary, pl.DataFrame):
        raise InputError(f"expected a polars DataFrame, got {type(summary).__name__}")
    for name in columns:
        if name not in summary.columns:
            raise InputError("required column is missing", column=name)


def _first_bad(mask: NDArray[np.bool_]) -> int | None:
    hits = np.flatnonzero(mask)
    return None if hits.size == 0 else int(hits[0]) + 1


def frequency_arrays(summary: pl.DataFrame) -> tuple[Array, Array, Array]:
    """x, t_x and T of a customer summary as float arrays, checked.

    Raises
    ------
    InputError
        A column is missing, or a row has a null, negative or non-integer ``x``, a negative or
        non-finite time, or ``t_x > T``, or ``x == 0`` with ``t_x != 0`` (row is 1-based).
    """
    require_columns(summary, ("x", "t_x", "T"))
    arrays = []
    for name in ("x", "t_x", "T"):
        values = summary.get_column(name).cast(pl.Float64).to_numpy()
        row = _first_bad(~np.isfinite(values) | (values < 0))
        if row is not None:
            raise InputError("must be a finite number >= 0", row=row, column=name)
        arrays.append(values.astype(np.float64, copy=False))
    x, t_x, T = arrays
    row = _first_bad(x != np.round(x))
    if row is not None:
        raise InputError("must be a whole number of repeat purchases", row=row, column="x")
    row = _first_bad(t_x > T * (1 + 1e-12))
    if row is not None:
        raise InputError("t_x is after T (last purchase after as_of)", row=row, column="t_x")
    row = _first_bad((x == 0) & (t_x != 0))
    if row is not None:
        raise InputError("t_x must be 0 when x is 0", row=row, column="t_x")
    return x, np.minimum(t_x, T), T


def levels_and_codes(values: Array) -> tuple[Array, NDArray[np.intp]]:
    """Distinct values (sorted) and each value's index among them.

    What ``np.unique(values, return_inverse=True)`` returns, but that argsorts. Summary columns
    live on a grid (purchase counts are whole numbers, times whole days in weeks), so the
    distinct values are found by a plain sort, each value's index by rounding it to the grid
    and a table lookup, and the result is checked value by value: several times faster on a
    million customers. Values off any grid fall back on np.unique.
    """
    levels = np.unique(values)
    if levels.size > 1 and values.size > 1024:
        low, step = levels[0], float(np.min(np.diff(levels)))
        with np.errstate(all="ignore"):
            slots = np.rint((levels - low) / step)
        if np.isfinite(slots[-1]) and slots[-1] < 4 * values.size:
            table = np.zeros(int(slots[-1]) + 1, dtype=np.intp)
            table[slots.astype(np.intp)] = np.arange(levels.size)
            codes = table[np.rint((values - low) / step).astype(np.intp)]
            if np.array_equal(levels[codes], values):
                return levels, codes
    levels, codes = np.unique(values, return_inverse=True)
    return levels, codes.ravel()


@dataclass
class FitResult:
    """What a maximum-likelihood fit returns."""

    params: Array
    loglik: float
    converged: bool
    n_iter: int
    standard_errors: Array


def _objective(
    loglik: LogLik, n: float, penalizer: float
) -> Callable[[Array], tuple[float, Array]]:
    """-LL / n + penalizer * sum(theta^2), as a function of log theta with its gradient."""

    def f(log_theta: Array) -> tuple[float, Array]:
        theta = np.exp(log_theta)
        ll, grad = loglik(theta)
        value = -ll / n + penalizer * float(np.sum(theta**2))
        g = (-grad / n + 2.0 * penalizer * theta) * theta
        if not np.isfinite(value) or not np.all(np.isfinite(g)):
            return np.inf, np.zeros_like(log_theta)
        return value, g

    return f


def _finite_difference_hessian(loglik: LogLik, theta: Array) -> Array:
    """Hessian of the log-likelihood in the natural parameters, by central differences of the
    exact gradient (for the models that do not give it in closed form)."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        hess[:, i] = (loglik(up)[1] - loglik(down)[1]) / (2 * h)
    return (hess + hess.T) / 2


def _standard_errors(hessian: Array, n: float, penalizer: float) -> Array:
    """Square roots of the diagonal of the inverse observed information (NaN if singular).

    ``hessian`` is the Hessian of the log-likelihood in the natural parameters; the information
    is that of the penalised negative log-likelihood.
    """
    k = hessian.shape[0]
    information = -hessian + 2.0 * penalizer * n * np.eye(k)
    try:
        cov = np.linalg.inv(information)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)


def _log_space(
    at: tuple[float, Array, Array], theta: Array, n: float, penalizer: float
) -> tuple[float, Array, Array]:
    """-LL/n + penalizer * sum(theta^2) with its gradient and Hessian in log theta."""
    ll, grad, hess = at
    value = -ll / n + penalizer * float(np.sum(theta**2))
    g_natural = -grad / n + 2.0 * penalizer * theta
    h_natural = -hess / n + 2.0 * penalizer * np.eye(theta.size)
    # d theta / d log theta = theta: the chain rule adds the gradient on the diagonal.
    return value, g_natural * theta, theta[:, None] * h_natural * theta + np.diag(g_natural * theta)


def _newton(
    loglik_hessian: LogLikHessian, log_start: Array, n: float, penalizer: float
) -> tuple[Array, int, tuple[float, Array, Array]] | None:
    """Newton's method with backtracking, in log theta, from a start near the optimum.

    Returns the optimum, the number of steps and (LL, gradient, Hessian) there; None when it
    cannot go on (Hessian not positive definite, no descent, a bound reached, non-finite
    values), for the caller to fall back on L-BFGS-B.
    """
    z = log_start
    at = loglik_hessian(np.exp(z))
    value, g, h = _log_space(at, np.exp(z), n, penalizer)
    for steps in range(_NEWTON_MAX_ITER + 1):
        if not (np.isfinite(value) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            return None
        if np.max(np.abs(g)) <= _NEWTON_GRADIENT_TOL:
            return z, steps, at
        try:
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            return None
        step = np.linalg.solve(h, -g)
        decrement = float(-(g @ step))  # twice the decrease the quadratic model predicts
        if decrement <= _NEWTON_DECREMENT:
            return z, steps, at  # nothing left to gain
        if steps == _NEWTON_MAX_ITER:
            break
        moved = _backtrack(loglik_hessian, z, step, value, g, decrement, n, penalizer)
        if moved is None:
            return None
        z, at, (value, g, h) = moved
    return None


def _backtrack(
    loglik_hessian: LogLikHessian,
    z: Array,
    step: Array,
    value: float,
    g: Array,
    decrement: float,
    n: float,
    penalizer: float,
) -> tuple[Array, tuple[float, Array, Array], tuple[float, Array, Array]] | None:
    """The longest of steps 1, 1/2, 1/4, ... that decreases the objective enough (Armijo).

    Once the predicted decrease is down at rounding level, the objective can no longer tell
    better from worse; a step that shrinks the gradient is then accepted instead.
    """
    size = 1.0
    while size > 1e-4:
        trial = z + size * step
        if np.all(np.abs(trial) < _LOG_BOUND - 0.1):
            at = loglik_hessian(np.exp(trial))
            new = _log_space(at, np.exp(trial), n, penalizer)
            if new[0] <= value - 1e-4 * size * decrement or (
                decrement < 1e-12 * max(abs(value), 1.0)
                and np.max(np.abs(new[1])) < np.max(np.abs(g))
            ):
                return trial, at, new
        size /= 2
    return None


def _minimize(
    objective: Callable[[Array], tuple[float, Array]], start: Array, *, gtol: float = 1e-8
) -> tuple[Array, int]:
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * start.size,
        options={"maxiter": 3000, "ftol": 1e-14 if gtol < 1e-6 else 1e-10, "gtol": gtol},
    )
    return result.x, int(result.nit)


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS libraries of the process, looked up once: the lookup walks every loaded shared
    library, a few milliseconds per fit (about 2% of a value refresh of 100,000 customers)."""
    return ThreadpoolController()


def maximize(
    make_loglik: Callable[[NDArray[np.int64] | None], LogLik],
    start: Array,
    *,
    n_customers: float,
    n_rows: int,
    penalizer: float,
    seed: int = 0,
    loglik_hessian: LogLikHessian | None = None,
) -> FitResult:
    """Maximise a log-likelihood over positive parameters.

    Parameters
    ----------
    make_loglik : callable
        ``make_loglik(rows)`` returns the log-likelihood over the distinct rows ``rows`` (all
        rows when None), with their weights scaled so that it estimates the full total.
    start : np.ndarray
        Starting natural parameters.
    n_customers, n_rows : number of customers and of distinct rows.
    penalizer : float
        L2 penalty on the natural parameters, added to the mean negative log-likelihood.
    loglik_hessian : callable, optional
        The full-data log-likelihood with its gradient and Hessian in the natural parameters.
        When given, the fit is finished by Newton's method and the standard errors come from
        this Hessian; otherwise L-BFGS-B goes all the way and the Hessian is approximated by
        finite differences of the gradient.

    Raises
    ------
    ConvergenceError
        The optimum found is not finite.
    """
    # Four parameters gain nothing from BLAS threads, and on a busy machine their spin-waits
    # cost more than the likelihood itself.
    with _blas().limit(limits=1, user_api="blas"):
        return _maximize(make_loglik, start, n_customers, n_rows, penalizer, seed, loglik_hessian)


def _maximize(
    make_loglik: Callable[[NDArray[np.int64] | None], LogLik],
    start: Array,
    n_customers: float,
    n_rows: int,
    penalizer: float,
    seed: int,
    loglik_hessian: LogLikHessian | None,
) -> FitResult:
    log_theta = np.log(start)
    n_iter = 0
    sampled = n_rows > 4 * _SUBSAMPLE_ROWS
    if sampled:
        # A warm start on a uniform sample of the distinct rows gets near the optimum cheaply;
        # the full data then need only a few iterations. The sample's optimum is off the full
        # one by its sampling error (about 1%), so it is not sought to more than 5 digits.
        rows = np.random.default_rng(seed).choice(n_rows, _SUBSAMPLE_ROWS, replace=False)
        warm = _objective(make_loglik(rows), n_customers, penalizer)
        log_theta, n_iter = _minimize(warm, log_theta, gtol=_WARM_GRADIENT_TOL)
    loglik = make_loglik(None)
    newton = None
    if loglik_hessian is not None and sampled:
        # From the sample's optimum Newton converges in three or four full-data passes.
        newton = _newton(loglik_hessian, log_theta, n_customers, penalizer)
    if newton is None:
        # Small data (every pass is cheap), a model without a Hessian, or Newton gave up:
        # L-BFGS-B on the full data, then a Newton polish where the Hessian is known.
        log_theta, more = _minimize(_objective(loglik, n_customers, penalizer), log_theta)
        n_iter += more
        if loglik_hessian is not None:
            newton = _newton(loglik_hessian, log_theta, n_customers, penalizer)
    if newton is not None:
        log_theta, more, (ll, grad, hessian) = newton
        n_iter += more
    theta = np.exp(log_theta)
    if newton is None:
        ll, grad = loglik(theta)
        hessian = (
            _finite_difference_hessian(loglik, theta)
            if loglik_hessian is None
            else loglik_hessian(theta)[2]
        )
    if not np.isfinite(ll):
        raise ConvergenceError("the log-likelihood is not finite at the optimum found")
    gradient = (-grad / n_customers + 2.0 * penalizer * theta) * theta  # of -LL/N in log theta
    at_bound = bool(np.any(np.abs(log_theta) >= _LOG_BOUND - 0.1))
    converged = bool(np.max(np.abs(gradient)) < _GRADIENT_TOL) and not at_bound
    errors = _standard_errors(hessian, n_customers, penalizer)
    return FitResult(theta, float(ll), converged, n_iter, errors)


class FittedModel:
    """Shared bookkeeping of the estimators: the fitted attributes and their check."""

    PARAM_NAMES: tuple[str, ...] = ()
    params_: dict[str, float]

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def _check_penalizer(self) -> None:
        if not np.isfinite(self.penalizer) or self.penalizer < 0:
            raise InputError(f"penalizer must be >= 0, got {self.penalizer!r}")

    def _store(self, result: FitResult, n_customers: int, n_distinct: int) -> Self:
        self.params_ = dict(zip(self.PARAM_NAMES, map(float, result.params), strict=True))
        self.loglik_ = result.loglik
        self.n_customers_ = n_customers
        self.n_distinct_ = n_distinct
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.standard_errors_ = dict(
            zip(self.PARAM_NAMES, map(float, result.standard_errors), strict=True)
        )
        return self

    def _params(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
        return tuple(self.params_[name] for name in self.PARAM_NAMES)

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({shown})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"
