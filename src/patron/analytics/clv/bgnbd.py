"""BG/NBD model of repeat purchasing (beta-geometric dropout, NBD purchasing).

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "'Counting Your Customers' the Easy Way:
An Alternative to the Pareto/NBD Model". Marketing Science 24(2), 275-284.

While active, a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha); after each
repeat purchase he drops out with probability p ~ Beta(a, b). The likelihood of (x, t_x, T) is
the paper's eq. (6); P(alive) is from Fader, Hardie & Lee (2008), "Computing P(alive) Using the
BG/NBD Model" (note); the conditional expectation is eq. (10).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import digamma, expit, gammaln, polygamma

from patron.analytics.clv._base import Array
from patron.analytics.clv._purchase import (
    PurchaseModel,
    Rows,
    _check_horizon,
    beta_geometric_expected_alive,
)


class _BetaGeometricModel(PurchaseModel):
    """BG/NBD and MBG/NBD share everything but whether a customer may drop out at time 0.

    With ``_DROP_AT_START`` a customer can also drop out right after the first purchase
    (MBG/NBD); the dropout chances after the first purchase and the x repeats are then x + 1
    instead of x.
    """

    PARAM_NAMES = ("r", "alpha", "a", "b")
    _DROP_AT_START = False
    _ELEMENTWISE_P_ALIVE = True
    _EXACT_HESSIAN = True

    def _death_term(self, theta: Array, rows: Rows) -> tuple[Array, Array]:
        """log-odds D of 'dropped out after the last purchase' against 'alive at T'.

        P(alive) = 1 / (1 + exp(D)) where the returned mask holds, 1 elsewhere (in the BG/NBD
        a customer without repeat purchases cannot have dropped out).
        """
        r, alpha, a, b = theta
        x = rows.x
        possible = np.ones(x.shape, dtype=bool) if self._DROP_AT_START else x > 0
        denom = self._odds_denominator(b, x, possible)
        log_span = np.log(alpha + rows.T) - np.log(alpha + rows.t_x)
        d = np.log(a) - np.log(denom) + (r + x) * log_span
        return np.where(possible, d, -np.inf), possible

    def _odds_denominator(self, b: float, x: Array, possible: Array) -> Array:
        """b + x - 1 (BG/NBD) or b + x (MBG/NBD): Beta(a+1, .) / Beta(a, .) = a / that."""
        return np.where(possible, b + x - (0.0 if self._DROP_AT_START else 1.0), 1.0)

    def _row_terms(self, theta: Array, rows: Rows) -> tuple[Array, Array]:
        r, alpha, a, b = theta
        x, t_x, T = rows.x, rows.t_x, rows.T
        shift = 1.0 if self._DROP_AT_START else 0.0
        levels = rows.x_levels[0]
        b_x = levels + b + shift  # Beta(a, b_x): the dropout probability of a customer alive at T
        log_beta = gammaln(b_x) - gammaln(a + b_x) - gammaln(b) + gammaln(a + b)
        d, possible = self._death_term(theta, rows)
        w = np.where(possible, expit(d), 0.0)  # P(dropped out | data)
        log_span = np.log(alpha + T) - np.log(alpha + t_x)
        ll = (
            rows.by_x(gammaln(r + levels) + log_beta)
            - gammaln(r)
            + r * np.log(alpha)
            - (r + x) * np.log(alpha + T)
            + np.where(possible, np.logaddexp(0.0, d), 0.0)
        )
        psi_ab = digamma(a + b_x)
        grad = np.stack(
            [
                rows.by_x(digamma(r + levels))
                - digamma(r)
                + np.log(alpha / (alpha + T))
                + w * log_span,
                r / alpha
                - (r + x) / (alpha + T)
                + w * (r + x) * (1 / (alpha + T) - 1 / (alpha + t_x)),
                digamma(a + b) - rows.by_x(psi_ab) + w / a,
                rows.by_x(digamma(b_x) - psi_ab)
                - digamma(b)
                + digamma(a + b)
                - w / self._odds_denominator(b, x, possible),
            ]
        )
        return ll, grad

    def _loglik(self, theta: Array, rows: Rows, weights: Array) -> tuple[float, Array]:
        ll, grad, _ = self._summed(theta, rows, weights, hessian=False)
        return ll, grad

    def _loglik_hessian(
        self, theta: Array, rows: Rows, weights: Array
    ) -> tuple[float, Array, Array]:
        ll, grad, hess = self._summed(theta, rows, weights, hessian=True)
        assert hess is not None
        return ll, grad, hess

    def _summed(
        self, theta: Array, rows: Rows, weights: Array, *, hessian: bool
    ) -> tuple[float, Array, Array | None]:
        """Weighted sum of eq. (6), its gradient and (with ``hessian``) its Hessian.

        ``_row_terms`` summed, made cheaper: terms in x alone or in T alone are summed over
        their levels with the weights per level; only the dropout term, which mixes x, t_x and
        T, is evaluated row by row, with one exponential giving its log and its derivatives.
        """
        r, alpha, a, b = theta
        shift = 1.0 if self._DROP_AT_START else 0.0
        levels, x_index = rows.x_levels
        w_x, w_T, wx_T = rows.level_weights(weights)
        n = float(np.sum(w_x))
        b_x = levels + b + shift
        psi_ab = digamma(a + b_x)
        possible = np.ones(levels.shape, bool) if self._DROP_AT_START else levels > 0
        denom = np.where(possible, b_x - 1.0, 1.0)
        with np.errstate(divide="ignore"):
            log_denom = np.where(possible, np.log(denom), np.inf)  # impossible: d = -inf
        log_T = np.log(alpha + rows.T_levels[0])
        log_tx = np.log(alpha + rows.t_x_levels[0])
        log_span = log_T[rows.T_levels[1]] - log_tx[rows.t_x_levels[1]]
        r_x = r + rows.x
        d = (np.log(a) - log_denom[x_index]) + r_x * log_span
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        w = weights * np.where(d >= 0, 1.0, e) / (1.0 + e)  # weight x P(dropped out | data)
        inv_T = 1.0 / (alpha + rows.T_levels[0])
        inv_tx = 1.0 / (alpha + rows.t_x_levels[0])
        inv_gap = inv_T[rows.T_levels[1]] - inv_tx[rows.t_x_levels[1]]
        q = r_x * inv_gap  # d d / d alpha
        w_dead = float(np.sum(w))
        w_by_x = np.bincount(x_index, weights=w, minlength=levels.size)
        log_beta = gammaln(b_x) - gammaln(a + b_x) - gammaln(b) + gammaln(a + b)
        ll = (
            float(w_x @ (gammaln(r + levels) + log_beta))
            + n * (r * np.log(alpha) - gammaln(r))
            - float(log_T @ (r * w_T + wx_T))
            + float(weights @ softplus)
        )
        grad = np.array(
            [
                float(w_x @ digamma(r + levels))
                + n * (np.log(alpha) - digamma(r))
                - float(log_T @ w_T)
                + float(w @ log_span),
                n * r / alpha - float(inv_T @ (r * w_T + wx_T)) + float(w @ q),
                n * digamma(a + b) - float(w_x @ psi_ab) + w_dead / a,
                float(w_x @ (digamma(b_x) - psi_ab))
                + n * (digamma(a + b) - digamma(b))
                - float(np.sum(w_by_x[possible] / denom[possible])),
            ]
        )
        if not hessian:
            return ll, grad, None
        # The dropout term softplus(d) has Hessian s grad(d) grad(d)' + P(dead) hess(d), with
        # s = P(dead) P(alive) = e / (1 + e)^2 and grad(d) = (log span, (r+x) gap, 1/a,
        # -1/denom). The last two are constant per level of x, so their products are sums of
        # s, s log span and s (r+x) gap per level: a few dot products and bincounts in all.
        s_w = weights * e / (1.0 + e) ** 2
        s_span, s_q = s_w * log_span, s_w * q
        by_x = [np.bincount(x_index, weights=v, minlength=levels.size) for v in (s_w, s_span, s_q)]
        inv_denom = np.where(possible, 1.0 / denom, 0.0)  # s = 0 where impossible anyway
        hess = np.empty((4, 4))
        hess[0, :2] = float(s_span @ log_span), float(s_span @ q)
        hess[1, 1] = float(s_q @ q)
        hess[:3, 2] = [float(np.sum(v)) / a for v in (by_x[1], by_x[2], by_x[0] / a)]
        hess[:3, 3] = [-float(v @ inv_denom) for v in (by_x[1], by_x[2], by_x[0] / a)]
        hess[3, 3] = float(by_x[0] @ inv_denom**2)
        curve = inv_tx[rows.t_x_levels[1]] ** 2 - inv_T[rows.T_levels[1]] ** 2  # d gap / d alpha
        hess[0, 1] += float(w @ inv_gap)
        hess[1, 1] += float((w * r_x) @ curve)
        hess[2, 2] -= w_dead / a**2
        hess[3, 3] += float(np.sum(w_by_x[possible] / denom[possible] ** 2))
        # Terms in x alone (trigamma of the gamma and beta functions) and in T alone.
        tri_ab = n * polygamma(1, a + b) - float(w_x @ polygamma(1, a + b_x))
        hess[0, 0] += float(w_x @ polygamma(1, r + levels)) - n * polygamma(1, r)
        hess[0, 1] += n / alpha - float(inv_T @ w_T)
        hess[1, 1] += float(inv_T**2 @ (r * w_T + wx_T)) - n * r / alpha**2
        hess[2, 2] += tri_ab
        hess[2, 3] += tri_ab
        hess[3, 3] += tri_ab + float(w_x @ polygamma(1, b_x)) - n * polygamma(1, b)
        upper = np.triu(hess, 1)
        return ll, grad, np.triu(hess) + upper.T

    def _p_alive(self, rows: Rows) -> Array:
        d, possible = self._death_term(np.array(self._params()), rows)
        return np.where(possible, expit(-d), 1.0)

    def _expected_alive(self, t: float, rows: Rows) -> Array:
        return self._expected_alive_over([t], rows)[:, 0]

    def _expected_alive_over(self, times: Sequence[float], rows: Rows) -> Array:
        # All horizons in one call: the quadrature of heavy buyers shares its set-up.
        r, alpha, a, b = self._params()
        b_x = b + rows.x + (1.0 if self._DROP_AT_START else 0.0)
        return beta_geometric_expected_alive(r, alpha, a, b_x, rows.x, rows.T, np.asarray(times))

    def expected_purchases(self, t: float) -> float:
        """Expected repeat purchases in (0, t] of a new customer, E[X(t)].

        BG/NBD: Fader, Hardie & Lee (2005), eq. (9). MBG/NBD: the same with the chance b/(a+b)
        of surviving the first purchase (Batislam, Denizel & Filiztekin 2007).
        """
        r, alpha, a, b = self._params()
        t = _check_horizon(t)
        zero = np.zeros(1)
        if self._DROP_AT_START:
            survive = b / (a + b)
            return float(
                survive * beta_geometric_expected_alive(r, alpha, a, b + 1, zero, zero, t)[0]
            )
        return float(beta_geometric_expected_alive(r, alpha, a, b, zero, zero, t)[0])


class BetaGeoModel(_BetaGeometricModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the parameters (r, alpha, a, b), added to the mean negative
        log-likelihood per customer; shrinks them towards 0 on thin data.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha), alpha in the summary's time unit),
        ``a``, ``b`` (dropout probability ~ Beta(a, b)).
    loglik_ : float
        Log-likelihood at the estimate (eq. 6 summed over customers, penalty excluded).
    n_customers_, n_distinct_, converged_, n_iter_, standard_errors_
        See :meth:`PurchaseModel.fit`.

    Notes
    -----
    On the CDNOW sample (weeks, calibration to 1997-09-30) the estimates are r = 0.243,
    alpha = 4.414, a = 0.793, b = 2.426 and LL = -9582.4, as published in the paper.
    """
