"""Simulated customer bases, for parameter-recovery tests, benchmarks and demos.

Each simulator draws customers from the generative story of its model and returns their
summary (x, t_x, T) in whatever time unit the parameters are in; everything is vectorised numpy,
so a million customers take well under a second. :func:`simulate_transactions` turns such a
summary into dated transactions with amounts from the Gamma-Gamma spend process.

The trick that keeps it vectorised: given the number K of purchases of a Poisson process on
[0, w], the purchase times are K independent uniforms on [0, w]; the last of them (or the j-th,
when the customer drops out after purchase j) is a Beta order statistic, and the purchases
before it are again independent uniforms below it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from patron.analytics.errors import InputError
from patron.analytics.summary import UNIT_DAYS

Array = NDArray[np.float64]


def _ages(n_customers: int, T: float | ArrayLike) -> Array:
    ages = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
    if not np.all(np.isfinite(ages) & (ages > 0)):
        raise InputError("T must be finite and > 0 for every customer", column="T")
    return ages


def _check_positive(**params: float) -> None:
    for name, value in params.items():
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a finite number > 0, got {value!r}")


def _frame(x: Array, t_x: Array, T: Array, resolution: float | None) -> pl.DataFrame:
    """The summary frame; with a resolution, times are floored to its grid (e.g. 1/7 week)."""
    if resolution is not None:
        t_x = np.round(t_x / resolution) * resolution
        T = np.floor(T / resolution + 1e-9) * resolution
        t_x = np.minimum(t_x, T)
    return pl.DataFrame(
        {
            "customer_id": np.arange(1, x.size + 1, dtype=np.int64),
            "x": x.astype(np.int64),
            "t_x": np.where(x > 0, t_x, 0.0),
            "T": T,
        }
    )


def _beta_geometric(
    n_customers: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: Array,
    at_start: bool,
    rng: np.random.Generator,
) -> tuple[Array, Array]:
    """x and t_x when the customer may drop out after each purchase (and at 0 if at_start)."""
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    p = np.maximum(rng.beta(a, b, n_customers), 1e-12)  # a draw can underflow to 0
    # Purchases made before dropping out: geometric on {1, 2, ...} (BG) or {0, 1, ...} (MBG).
    survived = rng.geometric(p) - (1 if at_start else 0)
    k = rng.poisson(lam * T)
    x = np.minimum(k, survived)
    # The x-th of k uniform purchase times on [0, T] is T * Beta(x, k - x + 1).
    safe_x = np.maximum(x, 1)
    t_x = np.where(x > 0, T * rng.beta(safe_x, np.maximum(k - safe_x + 1, 1)), 0.0)
    return x.astype(np.float64), t_x


def simulate_bgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | ArrayLike = 39.0,
    seed: int | None = None,
    resolution: float | None = None,
) -> pl.DataFrame:
    """Customers drawn from the BG/NBD model (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    n_customers : int
    r, alpha, a, b : float
        Purchase rate ~ Gamma(r, alpha) (alpha a rate, in the unit of T); dropout probability
        after each repeat purchase ~ Beta(a, b).
    T : float or array of float
        Each customer's time from the first purchase to the end of observation.
    seed : int, optional
        Seed of the numpy Generator.
    resolution : float, optional
        If given, t_x and T are floored to multiples of it (1/7 for days when T is in weeks),
        as real, day-stamped data would be.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (1..n), ``x`` (Int64), ``t_x``, ``T`` (Float64).
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    ages = _ages(n_customers, T)
    x, t_x = _beta_geometric(n_customers, r, alpha, a, b, ages, False, np.random.default_rng(seed))
    return _frame(x, t_x, ages, resolution)


def simulate_mbgnbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | ArrayLike = 39.0,
    seed: int | None = None,
    resolution: float | None = None,
) -> pl.DataFrame:
    """Customers drawn from the MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    As :func:`simulate_bgnbd`, but a customer may also drop out right after the first purchase.
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    ages = _ages(n_customers, T)
    x, t_x = _beta_geometric(n_customers, r, alpha, a, b, ages, True, np.random.default_rng(seed))
    return _frame(x, t_x, ages, resolution)


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | ArrayLike = 39.0,
    seed: int | None = None,
    resolution: float | None = None,
) -> pl.DataFrame:
    """Customers drawn from the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    Parameters
    ----------
    r, alpha, s, beta : float
        Purchase rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta) (rates in the unit of T).
    T, seed, resolution
        As for :func:`simulate_bgnbd`.
    """
    _check_positive(r=r, alpha=alpha, s=s, beta=beta)
    rng = np.random.default_rng(seed)
    ages = _ages(n_customers, T)
    lam = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    window = np.minimum(rng.exponential(1.0 / mu), ages)  # active part of [0, T]
    x = rng.poisson(lam * window).astype(np.float64)
    # The last of x uniforms on [0, window] is window * U^(1/x).
    t_x = np.where(x > 0, window * rng.random(n_customers) ** (1.0 / np.maximum(x, 1.0)), 0.0)
    return _frame(x, t_x, ages, resolution)


def simulate_transactions(
    frequency: pl.DataFrame,
    *,
    as_of: date,
    p: float,
    q: float,
    gamma: float,
    unit: str = "week",
    seed: int | None = None,
) -> pl.DataFrame:
    """Dated transactions with amounts for a simulated summary.

    Each customer's first purchase is ``T`` before ``as_of``, the last repeat purchase ``t_x``
    after it and the other ``x - 1`` repeats uniformly in between; amounts follow the
    Gamma-Gamma process (Colombo & Jiang 1999): nu ~ Gamma(q, gamma) per customer, each
    amount ~ Gamma(p, nu). Times are cut to whole days, so two purchases may fall on one day
    (a :func:`customer_summary` then merges them).

    Parameters
    ----------
    frequency : pl.DataFrame
        ``customer_id``, ``x``, ``t_x``, ``T`` (as returned by the simulators).
    as_of : datetime.date
        End of the observation window.
    p, q, gamma : float
        Gamma-Gamma spend parameters; the mean spend is p * gamma / (q - 1).
    unit : {"week", "day"}
        Time unit of ``t_x`` and ``T``.

    Returns
    -------
    pl.DataFrame
        ``customer_id``, ``date`` (Date), ``amount`` (Float64), grouped by customer with the
        first purchase first (the repeats are not in date order).
    """
    _check_positive(p=p, q=q, gamma=gamma)
    if unit not in UNIT_DAYS:
        raise InputError(f"unit must be 'day' or 'week', got {unit!r}")
    rng = np.random.default_rng(seed)
    days = UNIT_DAYS[unit]
    ids = frequency.get_column("customer_id").to_numpy()
    x = frequency.get_column("x").to_numpy().astype(np.int64)
    t_x = frequency.get_column("t_x").to_numpy() * days
    first = np.round(frequency.get_column("T").to_numpy() * days)
    owner = np.repeat(np.arange(ids.size), x + 1)
    offset = rng.random(owner.size) * t_x[owner]
    starts = np.concatenate([[0], np.cumsum(x + 1)[:-1]])
    offset[starts] = 0.0  # the first purchase
    last = starts + x
    offset[last[x > 0]] = t_x[x > 0]  # the last repeat purchase
    nu = rng.gamma(q, 1.0 / gamma, ids.size)
    amounts = rng.gamma(p, 1.0 / nu[owner])
    day = (np.floor(offset + 1e-9) - first[owner]).astype("timedelta64[D]")
    return pl.DataFrame(
        {
            "customer_id": ids[owner],
            "date": np.datetime64(as_of, "D") + day,
            "amount": np.round(amounts, 2),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def cohort_ages(
    n_customers: int,
    *,
    calibration: float,
    acquisition: float,
    unit_days: float = 7.0,
    seed: int | None = None,
) -> Array:
    """Ages T of a cohort acquired uniformly over ``acquisition`` and observed to ``calibration``.

    The first purchases fall on whole days in [0, acquisition); T = calibration - that time,
    on the day grid (e.g. the CDNOW cohort: 12 weeks of acquisition, 39 weeks of calibration).
    """
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, max(round(acquisition * unit_days), 1), n_customers)
    return calibration - first_day / unit_days
