"""Behavioural clusters of customers: k-means on standardised log behaviour features.

Cluster analysis is one of the value-segmentation methods of seed 003. Customers are described
by their behaviour in a customer summary (see `patron.analytics.summary.customer_summary`):

- ``recency``: time since the last purchase;
- ``n_purchases``: frequency (distinct purchase days);
- ``total_spend``: monetary value;
- ``T``: tenure, time since the first purchase;

(or any other non-negative columns). Each feature is log-transformed (log1p, because purchase
counts and spend are strongly right-skewed and k-means would otherwise chase the few largest
customers) and standardised to mean 0 and standard deviation 1, then clustered with k-means
(Lloyd 1982, "Least squares quantization in PCM", IEEE Transactions on Information Theory 28(2),
129-137; k-means++ seeding of Arthur & Vassilvitskii 2007) from scikit-learn.

The number of clusters, unless fixed, is the k in `k_range` (2..8 by default) with the largest
mean silhouette (Rousseeuw 1987, "Silhouettes: a graphical aid to the interpretation and
validation of cluster analysis", Journal of Computational and Applied Mathematics 20, 53-65),
computed on a seeded random sample. Clusters are numbered by decreasing centre spend (cluster 0
spends most), so labels do not depend on k-means' arbitrary order. Everything is deterministic
for a given `random_state`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

from patron.analytics.errors import InputError, InsufficientDataError, NotFittedError

__all__ = ["DEFAULT_FEATURES", "PHRASES", "BehaviourClusterer"]

DEFAULT_FEATURES: tuple[str, ...] = ("recency", "n_purchases", "total_spend", "T")

LEVELS = ("low", "average", "high")

# Plain-language phrase of a feature at a level, as (key, English). Keys are stable so the
# Django layer can translate them; an "average" level is left out of the description.
PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("recency", "low"): ("recent", "recent"),
    ("recency", "high"): ("lapsed", "lapsed"),
    ("n_purchases", "low"): ("infrequent", "infrequent"),
    ("n_purchases", "high"): ("frequent", "frequent"),
    ("total_spend", "low"): ("low_spend", "low spend"),
    ("total_spend", "high"): ("high_spend", "high spend"),
    ("avg_spend", "low"): ("low_basket", "small baskets"),
    ("avg_spend", "high"): ("high_basket", "large baskets"),
    ("T", "low"): ("newly_acquired", "newly acquired"),
    ("T", "high"): ("long_standing", "long-standing"),
}
ONE_TIME = ("one_time", "one-time buyers")
TYPICAL = ("typical", "typical customers")


def _features(summary: pl.DataFrame, features: Sequence[str]) -> NDArray[np.float64]:
    """The feature columns as an (n, p) float array, rejecting bad values."""
    columns = []
    for name in features:
        if name not in summary.columns:
            raise InputError("the summary has no such column", column=name)
        values = summary.get_column(name).cast(pl.Float64)
        bad = values.is_null() | values.is_nan() | values.is_infinite() | (values < 0)
        rows = bad.arg_true()
        if rows.len():
            raise InputError(
                "values must be finite and non-negative", row=int(rows[0]) + 1, column=name
            )
        columns.append(values.to_numpy())
    return np.column_stack(columns)


def preload() -> None:
    """Import what the clusterer imports where it is used (scikit-learn: about 3 s of a process's
    first fit), e.g. on a thread while a refresh reads its data."""
    import sklearn.cluster
    import sklearn.metrics  # noqa: F401


class BehaviourClusterer:
    """K-means clusters of customer behaviour with plain-language descriptions.

    Parameters
    ----------
    n_clusters : int, optional
        Fixed number of clusters; when None it is chosen by silhouette over `k_range`.
    k_range : tuple of two ints, default (2, 8)
        Smallest and largest k tried (inclusive).
    features : sequence of str, default ("recency", "n_purchases", "total_spend", "T")
        Non-negative summary columns describing behaviour.
    selection_size : int, default 20000
        K-means (with `n_init` restarts) for each candidate k is fitted on a seeded sample of at
        most this many customers; the chosen fit is then refined by one k-means run on all.
    silhouette_size : int, default 4000
        The silhouette of each candidate is measured on a seeded sample of at most this many.
    level_threshold : float, default 0.5
        A centre is "high" (or "low") on a feature when it lies at least this many standard
        deviations (of the log feature) above (below) the population mean.
    n_init : int, default 10
        K-means restarts.
    random_state : int, default 0
        Seed of the samples and of k-means.
    n_threads : int or None, default 1
        OpenMP threads for k-means; None leaves scikit-learn's default (all cores). One thread
        suits background workers that run side by side: several multi-threaded k-means on
        the same cores spin against each other and run many times slower.

    Attributes
    ----------
    n_clusters_ : int
    labels_ : numpy.ndarray of int
        Cluster of each customer of the fitted summary (0 = highest centre spend); None once
        pickled (see `__getstate__`).
    centers_ : polars.DataFrame
        ``cluster``, ``size`` and one column per feature: the centre back in original units
        (the inverse of the log1p and scaling, i.e. a geometric-type mean of the cluster).
    silhouettes_ : dict[int, float]
        Mean silhouette of each candidate k (empty when `n_clusters` is fixed).
    mean_, scale_ : numpy.ndarray
        Mean and standard deviation of the log features (the standardisation).
    cluster_centers_z_ : numpy.ndarray
        The centres in the standardised log space, one row per cluster in label order.
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        k_range: tuple[int, int] = (2, 8),
        features: Sequence[str] = DEFAULT_FEATURES,
        selection_size: int = 20_000,
        silhouette_size: int = 4_000,
        level_threshold: float = 0.5,
        n_init: int = 10,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.features = features
        self.selection_size = selection_size
        self.silhouette_size = silhouette_size
        self.level_threshold = level_threshold
        self.n_init = n_init
        self.random_state = random_state
        self.n_threads = n_threads

    def _standardise(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.log1p(raw) - self.mean_) / self.scale_

    def fit(self, summary: pl.DataFrame) -> Self:
        """Choose k (unless fixed), cluster the customers and order the clusters."""
        # scikit-learn is imported where it is used: the web pages name clusters through
        # this module, and importing it took 5 s of a web worker's first request.
        from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(summary)

    def _fit(self, summary: pl.DataFrame) -> Self:
        raw = _features(summary, self.features)
        logs = np.log1p(raw)
        self.mean_ = logs.mean(axis=0)
        scale = logs.std(axis=0)
        # A constant feature carries no information; a unit scale keeps it at 0 harmlessly.
        self.scale_ = np.where(scale > 0, scale, 1.0)
        z = self._standardise(raw)
        distinct = np.unique(z, axis=0).shape[0] if z.shape[0] <= 200_000 else z.shape[0]
        if distinct < 2:
            raise InsufficientDataError("clustering needs at least two distinct customers")
        k, on_sample = self._choose_k(self._sample(z), distinct)
        # The restarts were paid for on the sample; one Lloyd run from its centres refines them
        # on every customer.
        from sklearn.cluster import KMeans

        model = KMeans(
            n_clusters=k, init=on_sample.cluster_centers_, n_init=1, random_state=self.random_state
        ).fit(z)
        self._order_clusters(model)
        self.n_clusters_ = k
        self._summary_rows = summary.height
        self.centers_ = self._centres(np.bincount(self.labels_, minlength=k))
        return self

    def _sample(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        if z.shape[0] <= self.selection_size:
            return z
        rng = np.random.default_rng(self.random_state)
        return z[rng.choice(z.shape[0], self.selection_size, replace=False)]

    def _kmeans(self, k: int, sample: NDArray[np.float64]) -> KMeans:
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(sample)

    def _choose_k(self, sample: NDArray[np.float64], distinct: int) -> tuple[int, KMeans]:
        """The k to use and k-means fitted with it on the sample."""
        self.silhouettes_: dict[int, float] = {}
        if self.n_clusters is not None:
            if not 1 <= self.n_clusters <= distinct:
                raise InputError(f"n_clusters must be between 1 and {distinct}")
            return self.n_clusters, self._kmeans(self.n_clusters, sample)
        low, high = self.k_range
        candidates = [k for k in range(max(2, low), high + 1) if k < min(distinct, sample.shape[0])]
        from sklearn.metrics import silhouette_score

        fitted: dict[int, KMeans] = {}
        for k in candidates:
            fitted[k] = self._kmeans(k, sample)
            if np.unique(fitted[k].labels_).size < 2:
                continue
            self.silhouettes_[k] = float(
                silhouette_score(
                    sample,
                    fitted[k].labels_,
                    sample_size=min(self.silhouette_size, sample.shape[0]),
                    random_state=self.random_state,
                )
            )
        if not self.silhouettes_:
            raise InsufficientDataError(
                f"too few distinct customers ({distinct}) to choose among k in {self.k_range}"
            )
        # Ties go to the smaller k: the simpler segmentation.
        best = max(self.silhouettes_, key=lambda k: (self.silhouettes_[k], -k))
        return best, fitted[best]

    def _order_clusters(self, model: KMeans) -> None:
        centres = model.cluster_centers_
        spend_at = list(self.features).index("total_spend") if "total_spend" in self.features else 0
        # Decreasing spend, then the other coordinates, for a fully deterministic order.
        others = [centres[:, j] for j in reversed(range(centres.shape[1]))]
        order = np.lexsort((*others, -centres[:, spend_at]))
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        self.cluster_centers_z_ = centres[order]
        self.labels_ = rank[model.labels_]
        self._model = model
        self._rank = rank

    def _centres(self, sizes: NDArray[np.int64]) -> pl.DataFrame:
        original = np.expm1(self.cluster_centers_z_ * self.scale_ + self.mean_)
        data: dict[str, object] = {"cluster": np.arange(sizes.size), "size": sizes}
        for j, name in enumerate(self.features):
            data[name] = np.maximum(original[:, j], 0.0)
        return pl.DataFrame(data)

    def __getstate__(self) -> dict:
        """Pickled without the fitted customers' labels (its own and k-means'): predicting and
        describing need the centres alone, and a refresh stores its fitted models with every
        run (at a million customers the labels were 7 of the 12 MB)."""
        state = self.__dict__.copy()
        if state.get("_model") is not None:
            state["_model"] = copy.copy(state["_model"])
            state["_model"].labels_ = None
        if "labels_" in state:
            state["labels_"] = None
        return state

    def _check_fitted(self) -> None:
        if not hasattr(self, "_model"):
            raise NotFittedError("BehaviourClusterer used before fit()")

    def predict(self, summary: pl.DataFrame) -> NDArray[np.int64]:
        """Cluster of each customer of `summary` (nearest fitted centre)."""
        self._check_fitted()
        z = self._standardise(_features(summary, self.features))
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._rank[self._model.predict(z)].astype(np.int64)

    def describe(self) -> pl.DataFrame:
        """A plain-language description of each cluster from its centre.

        Returns
        -------
        polars.DataFrame
            ``cluster``, ``size``, ``share`` (of the fitted customers); ``<feature>_level``
            for each feature ("low", "average" or "high": the centre at least
            `level_threshold` standard deviations of the log feature below or above the
            population mean); ``phrase_keys`` (List of stable keys, e.g. ["lapsed",
            "one_time"]) and ``description`` (English, e.g. "lapsed one-time buyers" or
            "recent, frequent, high spend"). A cluster whose centre makes fewer than 1.5
            purchases is described as one-time buyers; average levels are not mentioned, and a
            cluster average on every feature is "typical customers".
        """
        self._check_fitted()
        rows = []
        for c, centre in enumerate(self.cluster_centers_z_):
            levels = {
                name: _level(v, self.level_threshold)
                for name, v in zip(self.features, centre, strict=True)
            }
            freq = self.centers_.get_column("n_purchases")[c] if "n_purchases" in levels else None
            keys, text = _phrases(levels, one_time=freq is not None and freq < 1.5)
            rows.append(
                {
                    "cluster": c,
                    **{f"{n}_level": lv for n, lv in levels.items()},
                    "phrase_keys": keys,
                    "description": text,
                }
            )
        sizes = self.centers_.select("cluster", "size").with_columns(
            (pl.col("size") / self._summary_rows).alias("share")
        )
        return sizes.join(pl.DataFrame(rows), on="cluster").sort("cluster")


def _level(z: float, threshold: float) -> str:
    return "high" if z >= threshold else "low" if z <= -threshold else "average"


def _phrases(levels: dict[str, str], *, one_time: bool) -> tuple[list[str], str]:
    """Keys and English text of a cluster from its feature levels."""
    picked = [
        PHRASES[(name, lv)]
        for name, lv in levels.items()
        if (name, lv) in PHRASES and not (one_time and name == "n_purchases")
    ]
    if one_time:
        # "lapsed one-time buyers, low spend": recency qualifies the noun, the rest follow it.
        lead = [p for p in picked if p[0] in ("recent", "lapsed")]
        rest = [p for p in picked if p not in lead]
        keys = [k for k, _ in lead] + [ONE_TIME[0]] + [k for k, _ in rest]
        text = " ".join([t for _, t in lead] + [ONE_TIME[1]])
        return keys, ", ".join([text] + [t for _, t in rest])
    if not picked:
        return [TYPICAL[0]], TYPICAL[1]
    return [k for k, _ in picked], ", ".join(t for _, t in picked)
