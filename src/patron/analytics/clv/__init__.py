"""Customer lifetime value: purchase-count models, the spend model and their combination.

- :class:`BetaGeoModel` (BG/NBD, Fader, Hardie & Lee 2005)
- :class:`ModifiedBetaGeoModel` (MBG/NBD, Batislam, Denizel & Filiztekin 2007)
- :class:`ParetoNBDModel` (Pareto/NBD, Schmittlein, Morrison & Colombo 1987)
- :class:`GammaGammaModel` (spend per transaction, Colombo & Jiang 1999; Fader, Hardie & Lee 2005)
- :func:`customer_lifetime_value`

All are fitted on the customer summary of :func:`patron.analytics.summary.customer_summary`.
"""

from patron.analytics.clv.bgnbd import BetaGeoModel
from patron.analytics.clv.gamma_gamma import GammaGammaModel
from patron.analytics.clv.mbgnbd import ModifiedBetaGeoModel
from patron.analytics.clv.pareto_nbd import ParetoNBDModel
from patron.analytics.clv.value import customer_lifetime_value

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "customer_lifetime_value",
]
