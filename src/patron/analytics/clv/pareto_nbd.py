"""Pareto/NBD model of repeat purchasing (exponential lifetimes, NBD purchasing).

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). "Counting Your Customers: Who Are
They and What Will They Do Next?". Management Science 33(1), 1-24. Likelihood and related
expressions as derived in Fader, P. S. & Hardie, B. G. S. (2005), "A Note on Deriving the
Pareto/NBD Model and Related Expressions" (brucehardie.com, note 009).

While alive, a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha); his
lifetime is exponential with rate mu ~ Gamma(s, beta). Integrating lambda and mu out,

    L(x, t_x, T) = Gamma(r+x) alpha^r beta^s / Gamma(r)
                   * [(alpha+T)^-(r+x) (beta+T)^-s + s J],
    J = int_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du,

the second term being the customer who died at some u in (t_x, T]. J = K(t_x) - K(T) with the
tail integral K(t) = int_t^inf (...) du, which is the note's 2F1 expression (its eq. 22 with the
alpha >= beta and alpha < beta cases). After an Euler transformation K(t) is, for alpha >= beta,

    (alpha+t)^-(r+x) (beta+t)^-s / (r+s+x) * 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+t))

and for alpha < beta

    (alpha+t)^-(r+x-1) (beta+t)^-(s+1) / (r+s+x) * 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+t)),

series of positive terms with argument in [0, 1), evaluated in log space with their parameter
derivatives (see :mod:`patron.analytics.clv._special`), so the fit has an exact gradient and no
term overflows for large x or T.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma, gammaln

from patron.analytics.clv._base import Array
from patron.analytics.clv._purchase import PurchaseModel, Rows, _check_horizon
from patron.analytics.clv._special import log_hyp2f1_1bc


def _log_tail(theta: Array, x: Array, t: Array) -> tuple[Array, Array]:
    """log K(t) and its gradient in (r, alpha, s, beta), shape (4, n)."""
    r, alpha, s, beta = theta
    k = r + s + x
    log_a, log_b = np.log(alpha + t), np.log(beta + t)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        lf, f_b, f_c, f_z = log_hyp2f1_1bc(r + x, k + 1.0, z)
        value = -(r + x) * log_a - s * log_b - np.log(k) + lf
        grad = [
            -log_a - 1.0 / k + f_b + f_c,
            -(r + x) / (alpha + t) + f_z * (beta + t) / (alpha + t) ** 2,
            -log_b - 1.0 / k + f_c,
            -s / (beta + t) - f_z / (alpha + t),
        ]
    else:
        w = (beta - alpha) / (beta + t)
        lf, f_b, f_c, f_w = log_hyp2f1_1bc(np.full_like(t, s + 1.0), k + 1.0, w)
        value = -(r + x - 1.0) * log_a - (s + 1.0) * log_b - np.log(k) + lf
        grad = [
            -log_a - 1.0 / k + f_c,
            -(r + x - 1.0) / (alpha + t) - f_w / (beta + t),
            -log_b - 1.0 / k + f_b + f_c,
            -(s + 1.0) / (beta + t) + f_w * (alpha + t) / (beta + t) ** 2,
        ]
    return value, np.stack(grad)


def _alive_and_dead(theta: Array, rows: Rows) -> tuple[Array, ...]:
    """The bracket of L in log-scaled pieces.

    Returns ``(m, alive, k1, k2, grad_k, at_tx, at_T)``: ``alive = A exp(-m)`` with
    A = (alpha+T)^-(r+x) (beta+T)^-s, ``k1 = s K(t_x) exp(-m)`` and ``k2 = s K(T) exp(-m)`` (so
    the 'died in (t_x, T]' term is k1 - k2); ``grad_k`` (4, pairs) is the gradient of log K on
    the distinct (x, t) pairs, and at_tx, at_T index each row's two pairs.
    """
    r, alpha, s, beta = theta
    xs, ts, at_tx, at_T = rows.ends
    log_k, grad_k = _log_tail(theta, xs, ts)
    log_alive = -(r + rows.x) * np.log(alpha + rows.T) - s * np.log(beta + rows.T)
    log_k1, log_k2 = log_k[at_tx] + np.log(s), log_k[at_T] + np.log(s)
    m = np.maximum(log_alive, log_k1)
    alive, k1, k2 = np.exp(log_alive - m), np.exp(log_k1 - m), np.exp(log_k2 - m)
    return m, alive, k1, k2, grad_k, at_tx, at_T


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the parameters (r, alpha, s, beta), added to the mean negative
        log-likelihood per customer.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha)), ``s``, ``beta`` (dropout rate
        ~ Gamma(s, beta)); alpha and beta in the summary's time unit.
    loglik_, n_customers_, n_distinct_, converged_, n_iter_, standard_errors_
        See :meth:`patron.analytics.clv._purchase.PurchaseModel.fit`.

    Notes
    -----
    On the CDNOW sample Fader, Hardie & Lee (2005, Marketing Science 24(2)) report r = 0.553,
    alpha = 10.578, s = 0.606, beta = 11.669 and LL = -9595.0.
    """

    PARAM_NAMES = ("r", "alpha", "s", "beta")

    def _start(self, x: Array, t_x: Array, T: Array, weights: Array) -> Array:
        rate = np.sum(weights * x) / max(np.sum(weights * T), 1e-12)
        mean_age = np.sum(weights * T) / np.sum(weights)
        return np.array([1.0, 1.0 / max(rate, 1e-6), 1.0, max(mean_age, 1e-6)])

    def _pieces(self, theta: Array, rows: Rows) -> tuple[Array, ...]:
        """Log-likelihood per row and what its gradient is made of (see ``_loglik``)."""
        r, alpha, s, beta = theta
        m, alive, k1, k2, grad_k, at_tx, at_T = _alive_and_dead(theta, rows)
        total = alive + np.maximum(k1 - k2, 0.0)  # k1 - k2 = s J, exactly 0 when t_x == T
        levels = rows.x_levels[0]
        ll = (
            rows.by_x(gammaln(r + levels))
            - gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            + m
            + np.log(total)
        )
        return ll, alive / total, k1 / total, k2 / total, grad_k, at_tx, at_T

    def _row_terms(self, theta: Array, rows: Rows) -> tuple[Array, Array]:
        ll, w_alive, w1, w2, grad_k, at_tx, at_T = self._pieces(theta, rows)
        return ll, self._gradient(theta, rows, w_alive, w1, w2, grad_k, at_tx, at_T, None)

    def _loglik(self, theta: Array, rows: Rows, weights: Array) -> tuple[float, Array]:
        ll, w_alive, w1, w2, grad_k, at_tx, at_T = self._pieces(theta, rows)
        grad = self._gradient(theta, rows, w_alive, w1, w2, grad_k, at_tx, at_T, weights)
        return float(np.sum(weights * ll)), grad

    @staticmethod
    def _gradient(
        theta: Array,
        rows: Rows,
        w_alive: Array,
        w1: Array,
        w2: Array,
        grad_k: Array,
        at_tx: NDArray[np.intp],
        at_T: NDArray[np.intp],
        weights: Array | None,
    ) -> Array:
        """Gradient of log L: per row (4, n) when ``weights`` is None, else weighted sum (4,).

        d log L = d const + [A d log A + s K1 (d log K1 + d log s) - s K2 (d log K2 + d log s)]
        / (A + s J), with the three shares w_alive, w1, w2 of the bracket. The log K gradients
        live on distinct (x, t) pairs; summed over rows they are folded with bincount.
        """
        r, alpha, s, beta = theta
        x, T = rows.x, rows.T
        levels = rows.x_levels[0]
        per_row = np.stack(
            [
                rows.by_x(digamma(r + levels))
                - digamma(r)
                + np.log(alpha)
                - w_alive * np.log(alpha + T),
                r / alpha - w_alive * (r + x) / (alpha + T),
                np.log(beta) - w_alive * np.log(beta + T) + (w1 - w2) / s,
                s / beta - w_alive * s / (beta + T),
            ]
        )
        if weights is None:
            return per_row + w1 * grad_k[:, at_tx] - w2 * grad_k[:, at_T]
        n_pairs = grad_k.shape[1]
        share = np.bincount(at_tx, weights=weights * w1, minlength=n_pairs) - np.bincount(
            at_T, weights=weights * w2, minlength=n_pairs
        )
        return np.sum(per_row * weights, axis=1) + np.sum(grad_k * share, axis=1)

    def _p_alive(self, rows: Rows) -> Array:
        _, alive, k1, k2, *_ = _alive_and_dead(np.array(self._params()), rows)
        return alive / (alive + np.maximum(k1 - k2, 0.0))

    @staticmethod
    def _lifetime_factor(s: float, scale: Array, t: float) -> Array:
        """scale * [1 - (scale/(scale+t))^(s-1)] / (s-1), stable at s = 1 (limit scale*log)."""
        u = np.log1p(t / scale)
        if abs(s - 1.0) < 1e-10:
            return scale * u
        return scale * -np.expm1(-(s - 1.0) * u) / (s - 1.0)

    def _expected_alive(self, t: float, rows: Rows) -> Array:
        """Expected purchases in (T, T+t] given alive at T (Fader & Hardie 2005 note).

        (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]: the note's
        conditional expectation divided by P(alive).
        """
        r, alpha, s, beta = self._params()
        return (r + rows.x) / (alpha + rows.T) * self._lifetime_factor(s, beta + rows.T, t)

    def expected_purchases(self, t: float) -> float:
        """Expected repeat purchases in (0, t] of a new customer (Schmittlein et al. 1987).

        E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)].
        """
        r, alpha, s, beta = self._params()
        t = _check_horizon(t)
        return float(r / alpha * self._lifetime_factor(s, np.array(beta), t))
