"""Special functions the lifetime-value models need, with their parameter derivatives.

The Pareto/NBD likelihood contains Gauss hypergeometric functions (Fader & Hardie 2005, "A Note
on Deriving the Pareto/NBD Model and Related Expressions", eqs. 19-22). After an Euler
transformation every one of them has the form

    F(b, c; z) = 2F1(1, b; c; z) = sum_n (b)_n / (c)_n z^n,   0 < b < c,  c > 1,  0 <= z < 1,

a series of positive terms that never cancels. It is summed directly for z <= 1/2 and computed
from its Euler integral by tanh-sinh quadrature above, both with the derivatives in b, c and z
so that the fit gets an exact gradient.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_expit

Array = NDArray[np.float64]

SERIES_MAX_Z = 0.5
_SERIES_TOL = 1e-17
_SERIES_MAX_TERMS = 200
_CHUNK = 8192


def _tanh_sinh_nodes(step: float = 1.0 / 24.0, t_max: float = 4.2) -> tuple[Array, Array, Array]:
    """Nodes of the tanh-sinh rule on (0, 1): log(v), log(1 - v) and weights.

    v = expit(pi sinh t) clusters the nodes double-exponentially at both ends, which is what
    the integrand below needs: its features sit at v -> 0 (a power v^e) and v -> 1.
    """
    t = np.arange(-t_max, t_max + step / 2, step)
    y = np.pi * np.sinh(t)
    log_v = log_expit(y)
    log_1mv = log_expit(-y)
    weights = step * np.pi * np.cosh(t) * expit(y) * expit(-y)
    return log_v, log_1mv, weights


_LOG_V, _LOG_1MV, _WEIGHTS = _tanh_sinh_nodes()


def _series(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """F and its partial derivatives by direct summation (for z <= 1/2)."""
    term = np.ones_like(z)
    f, f_b, f_c, f_z = term.copy(), np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    sum_b, sum_c = np.zeros_like(z), np.zeros_like(z)
    for n in range(1, _SERIES_MAX_TERMS + 1):
        sum_b += 1.0 / (b + n - 1)
        sum_c += 1.0 / (c + n - 1)
        over_z = term * (b + n - 1) / (c + n - 1)  # term_n / z, finite at z = 0
        term = over_z * z
        f += term
        f_b += term * sum_b
        f_c -= term * sum_c
        f_z += n * over_z
        if not np.any(term > _SERIES_TOL * f):
            break
    return f, f_b, f_c, f_z


def _quadrature_u(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """Euler integral F = (c-1) int_0^1 (1-u)^(c-2) (1-zu)^(-b) du, for c >= 2 (no singularity)."""
    u = np.exp(_LOG_V)[None, :]
    one_minus_u = np.exp(_LOG_1MV)[None, :]
    zc = z[:, None]
    # 1 - z u written so that it keeps its digits when both z and u are close to 1
    base = one_minus_u + u * (1.0 - zc)
    log_base = np.log(base)
    g = np.exp((c[:, None] - 2.0) * _LOG_1MV[None, :] - b[:, None] * log_base) * _WEIGHTS
    g *= (c - 1.0)[:, None]
    f = g.sum(axis=1)
    f_b = -(g * log_base).sum(axis=1)
    f_c = f / (c - 1.0) + (g * _LOG_1MV[None, :]).sum(axis=1)
    f_z = b * (g * u / base).sum(axis=1)
    return f, f_b, f_c, f_z


def _quadrature_v(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """The same integral after v = (1-u)^(c-1), for 1 < c < 2 where (1-u)^(c-2) is singular.

    F = int_0^1 (1 - z + z v^e)^(-b) dv with e = 1 / (c-1) > 1.
    """
    e = 1.0 / (c - 1.0)
    ve = np.exp(e[:, None] * _LOG_V[None, :])
    zc = z[:, None]
    base = 1.0 - zc + zc * ve
    log_base = np.log(base)
    g = np.exp(-b[:, None] * log_base) * _WEIGHTS[None, :]
    f = g.sum(axis=1)
    f_b = -(g * log_base).sum(axis=1)
    f_z = -b * (g * (ve - 1.0) / base).sum(axis=1)
    f_e = -b * z * (g * ve * _LOG_V[None, :] / base).sum(axis=1)
    return f, f_b, f_e * (-(e**2)), f_z


def _quadrature(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """F and its partial derivatives by tanh-sinh quadrature (for z > 1/2), in chunks."""
    out = [np.empty_like(z) for _ in range(4)]
    for start in range(0, z.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        bp, cp, zp = b[part], c[part], z[part]
        regular = cp >= 2.0
        for mask, method in ((regular, _quadrature_u), (~regular, _quadrature_v)):
            if np.any(mask):
                for o, v in zip(out, method(bp[mask], cp[mask], zp[mask]), strict=True):
                    o[part][mask] = v
    return out[0], out[1], out[2], out[3]


def log_hyp2f1_1bc(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """log 2F1(1, b; c; z) and its derivatives in b, c and z.

    Parameters
    ----------
    b, c, z : np.ndarray
        Arrays of one shape, with 0 < b < c, c > 1 and 0 <= z < 1.

    Returns
    -------
    tuple of np.ndarray
        ``(log F, d log F / db, d log F / dc, d log F / dz)``.
    """
    b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (b, c, z)))
    shape = z.shape
    b, c, z = b.ravel(), c.ravel(), z.ravel()
    out = [np.empty_like(z) for _ in range(4)]
    small = z <= SERIES_MAX_Z
    for mask, method in ((small, _series), (~small, _quadrature)):
        if np.any(mask):
            f, f_b, f_c, f_z = method(b[mask], c[mask], z[mask])
            out[0][mask] = np.log(f)
            out[1][mask] = f_b / f
            out[2][mask] = f_c / f
            out[3][mask] = f_z / f
    return tuple(o.reshape(shape) for o in out)  # type: ignore[return-value]
