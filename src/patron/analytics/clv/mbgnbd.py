"""MBG/NBD model: the BG/NBD with a chance to drop out right after the first purchase.

Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). "Empirical Validation and Comparison of
Models for Customer Base Analysis". International Journal of Research in Marketing 24(3),
201-209; with the corrected likelihood of Wagner, U. & Hoppe, D. (2008), "Erratum on the
MBG/NBD Model", International Journal of Research in Marketing 25(3), 225-226 (the same model
as Hoppe & Wagner's 2007 CBG/NBD).

In the BG/NBD (Fader, Hardie & Lee 2005) a customer without repeat purchases is certainly
alive; here he may have dropped out at time 0, which lowers P(alive) of one-time buyers:

    L(x, t_x, T) = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+1) / B(a, b)
                   * [(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)].
"""

from __future__ import annotations

from patron.analytics.clv.bgnbd import _BetaGeometricModel


class ModifiedBetaGeoModel(_BetaGeometricModel):
    """MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the parameters (r, alpha, a, b), added to the mean negative
        log-likelihood per customer.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha`` (purchase rate ~ Gamma(r, alpha)), ``a``, ``b`` (dropout probability
        after each purchase, the first included, ~ Beta(a, b)).
    loglik_, n_customers_, n_distinct_, converged_, n_iter_, standard_errors_
        See :meth:`patron.analytics.clv._purchase.PurchaseModel.fit`.

    Notes
    -----
    No published MBG/NBD estimates on the CDNOW sample were found (Batislam et al. use grocery
    data); the tests check parameter recovery on simulated data instead.
    """

    _DROP_AT_START = True
