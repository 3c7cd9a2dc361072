"""Gamma-Gamma model of spend per transaction.

Colombo, R. & Jiang, W. (1999). "A Stochastic RFM Model". Journal of Interactive Marketing
13(3), 2-12. Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis". Journal of Marketing Research 42(4), 415-430. Fader, P. S.
& Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value" (brucehardie.com, note 025).

A customer's transaction values are Gamma(p, nu) around his mean p/nu; nu varies across
customers as Gamma(q, gamma). The model is fitted on the customers with repeat purchases, on
the mean ``monetary`` of their x repeat transactions (the first purchase is left out, as in the
papers): x * monetary ~ Gamma(p x, nu), so the density of the mean is

    f(m | x) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q x^(px) m^(px-1) / (gamma + x m)^(px+q).

Spend is assumed independent of the purchase process, so the model combines with any of the
purchase-count models for customer lifetime value.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy.special import digamma, gammaln, polygamma

from patron.analytics.clv._base import (
    Array,
    FittedModel,
    LogLik,
    levels_and_codes,
    maximize,
    require_columns,
)
from patron.analytics.errors import InputError, InsufficientDataError


def spend_arrays(summary: pl.DataFrame) -> tuple[Array, Array]:
    """x and monetary as float arrays, checked (InputError names the 1-based row)."""
    require_columns(summary, ("x", "monetary"))
    x = summary.get_column("x").cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    m = summary.get_column("monetary").cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
    for name, values in (("x", x), ("monetary", m)):
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if bad.size:
            raise InputError("must be a finite number >= 0", row=int(bad[0]) + 1, column=name)
    return x, m


class _Spends:
    """Repeat buyers' x and mean spend m, with what does not change during a fit precomputed."""

    def __init__(self, x: Array, m: Array) -> None:
        self.x, self.m, self.log_m = x, m, np.log(m)
        self.levels, self._index = levels_and_codes(x)
        self.log_levels = np.log(self.levels)
        self.spent = x * m  # a customer's total repeat spend
        # Sums that do not depend on the parameters, per level of x where a term needs it.
        self.count = np.bincount(self._index, minlength=self.levels.size).astype(np.float64)
        self.sum_log_m = float(np.sum(self.log_m))
        self.sum_x_log_m = float(np.sum(x * self.log_m))

    def by_x(self, values: Array) -> Array:
        """Spread values computed on the distinct x to the rows."""
        return values[self._index]


class GammaGammaModel(FittedModel):
    """Gamma-Gamma model of the mean spend per transaction (Fader, Hardie & Lee 2005, JMR).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on (p, q, gamma), added to the mean negative log-likelihood per customer.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p`` (shape of a transaction's value), ``q`` and ``gamma`` (shape and rate of the
        customers' nu), in the currency of ``monetary``.
    loglik_ : float
        Log-likelihood of the repeat buyers' mean spends at the estimate.
    n_customers_ : int
        Customers used: those with ``x > 0``.
    converged_, n_iter_, standard_errors_
        As for the purchase models.

    Notes
    -----
    On the CDNOW sample's 946 repeat buyers (calibration to 1997-09-30, mean spend of the
    repeat transactions, same-day purchases merged) the estimates are p = 6.25, q = 3.74,
    gamma = 15.44 (Fader & Hardie 2013).
    """

    PARAM_NAMES = ("p", "q", "gamma")

    @staticmethod
    def _row_terms(theta: Array, data: _Spends) -> tuple[Array, Array]:
        p, q, gamma = theta
        x, levels = data.x, data.levels
        px = p * levels  # functions of p x are computed once per distinct x
        psi_pxq = digamma(px + q)
        log_total = np.log(gamma + x * data.m)
        ll = (
            data.by_x(gammaln(px + q) - gammaln(px) + px * data.log_levels)
            - gammaln(q)
            + q * np.log(gamma)
            + (p * x - 1.0) * data.log_m
            - (p * x + q) * log_total
        )
        grad = np.stack(
            [
                data.by_x(levels * (psi_pxq - digamma(px) + data.log_levels))
                + x * (data.log_m - log_total),
                data.by_x(psi_pxq) - digamma(q) + np.log(gamma) - log_total,
                q / gamma - (p * x + q) / (gamma + x * data.m),
            ]
        )
        return ll, grad

    @staticmethod
    def _summed_terms(
        theta: Array, data: _Spends, *, hessian: bool = False
    ) -> tuple[float, Array, Array | None]:
        """``_row_terms`` summed over the rows, from sums per level of x; with ``hessian``, also
        the Hessian of the sum (else None).

        Only log(gamma + x m) and its powers need a pass over the rows; every other term is a
        function of x alone or a sum fixed by the data.
        """
        p, q, gamma = theta
        levels, count = data.levels, data.count
        px = p * levels
        psi_pxq = digamma(px + q)
        u = gamma + data.spent
        log_total = np.log(u)
        inv = 1.0 / u
        idx = data._index
        log_by_x = np.bincount(idx, weights=log_total, minlength=levels.size)
        inv_by_x = np.bincount(idx, weights=inv, minlength=levels.size)
        n = float(data.x.size)
        ll = (
            float(count @ (gammaln(px + q) - gammaln(px) + px * data.log_levels))
            + n * (q * np.log(gamma) - gammaln(q))
            + p * data.sum_x_log_m
            - data.sum_log_m
            - float((px + q) @ log_by_x)
        )
        grad = np.array(
            [
                float(count @ (levels * (psi_pxq - digamma(px) + data.log_levels)))
                + data.sum_x_log_m
                - float(levels @ log_by_x),
                float(count @ psi_pxq)
                + n * (np.log(gamma) - digamma(q))
                - float(np.sum(log_by_x)),
                n * q / gamma - float((px + q) @ inv_by_x),
            ]
        )
        if not hessian:
            return ll, grad, None
        inv2_by_x = np.bincount(idx, weights=inv * inv, minlength=levels.size)
        tri_pxq = polygamma(1, px + q)
        h_pq = float(count @ (levels * tri_pxq))
        h_pg = -float(levels @ inv_by_x)
        h_qg = n / gamma - float(np.sum(inv_by_x))
        hess = np.array(
            [
                [float(count @ (levels**2 * (tri_pxq - polygamma(1, px)))), h_pq, h_pg],
                [h_pq, float(count @ tri_pxq) - n * polygamma(1, q), h_qg],
                [h_pg, h_qg, float((px + q) @ inv2_by_x) - n * q / gamma**2],
            ]
        )
        return ll, grad, hess

    def fit(self, summary: pl.DataFrame) -> Self:
        """Estimate p, q and gamma by maximum likelihood on the customers with ``x > 0``.

        Parameters
        ----------
        summary : pl.DataFrame
            Columns ``x`` (repeat purchases) and ``monetary`` (mean spend of the repeat
            purchases), as made by :func:`patron.analytics.summary.customer_summary`.

        Raises
        ------
        InputError
            A column is missing or invalid, or a repeat buyer has ``monetary == 0`` (a gamma
            spend is positive: drop free orders or zero-spend customers before fitting).
        InsufficientDataError
            Fewer than 2 customers with repeat purchases.
        """
        self._check_penalizer()
        x, m = spend_arrays(summary)
        zero = np.flatnonzero((x > 0) & (m <= 0))
        if zero.size:
            raise InputError(
                "a repeat buyer has zero spend, which the Gamma-Gamma model cannot fit",
                row=int(zero[0]) + 1,
                column="monetary",
            )
        keep = x > 0
        if np.count_nonzero(keep) < 2:
            raise InsufficientDataError("the spend model needs at least 2 repeat buyers")
        x, m = x[keep], m[keep]
        everything = _Spends(x, m)

        def make_loglik(rows: NDArray[np.int64] | None) -> LogLik:
            if rows is None:
                data, scale = everything, 1.0
            else:
                data, scale = _Spends(x[rows], m[rows]), x.size / rows.size

            def loglik(theta: Array) -> tuple[float, Array]:
                ll, grad, _ = self._summed_terms(theta, data)
                return ll * scale, grad * scale

            return loglik

        def loglik_hessian(theta: Array) -> tuple[float, Array, Array]:
            ll, grad, hess = self._summed_terms(theta, everything, hessian=True)
            assert hess is not None
            return ll, grad, hess

        start = self._start(x, m)
        result = maximize(
            make_loglik,
            start,
            n_customers=float(x.size),
            n_rows=x.size,
            penalizer=self.penalizer,
            loglik_hessian=loglik_hessian,
        )
        return self._store(result, int(x.size), int(x.size))

    @staticmethod
    def _start(x: Array, m: Array) -> Array:
        """Method-of-moments-like start: q = 3, p from the spread of the means, mean matched."""
        mean = float(np.average(m, weights=x))
        cv2 = float(np.var(m) / mean**2) if mean > 0 else 1.0
        p = float(np.clip(1.0 / max(cv2, 1e-3), 0.1, 100.0))
        q = 3.0
        return np.array([p, q, mean * (q - 1.0) / p])

    def mean_spend(self) -> float:
        """Population mean spend per transaction, E[M] = p gamma / (q - 1) (inf if q <= 1)."""
        p, q, gamma = self._params()
        return float(p * gamma / (q - 1.0)) if q > 1.0 else float("inf")

    def conditional_expected_spend(self, summary: pl.DataFrame) -> np.ndarray:
        """Expected mean spend per future transaction, given x and monetary.

        E[M | x, m] = (gamma + x m) p / (p x + q - 1), a weighted mean of the population mean
        p gamma / (q-1) and the customer's own mean m (Fader, Hardie & Lee 2005, JMR).
        Customers without repeat purchases get the population mean.

        Returns
        -------
        np.ndarray
            One value per row of ``summary``.
        """
        p, q, gamma = self._params()
        x, m = spend_arrays(summary)
        return (gamma + x * m) * p / (p * x + q - 1.0)

    def loglik(self, summary: pl.DataFrame) -> np.ndarray:
        """Log-density of each repeat buyer's mean spend (NaN for rows with x == 0)."""
        theta = np.array(self._params())
        x, m = spend_arrays(summary)
        out = np.full(x.size, np.nan)
        keep = (x > 0) & (m > 0)
        out[keep] = self._row_terms(theta, _Spends(x[keep], m[keep]))[0]
        return out
