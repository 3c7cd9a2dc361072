"""The whole customer-value pipeline in one call: what the CRM's value refresh runs.

From purchase lines as of a date it computes, per customer, the summary, RFM scores and
segments, the eight classes, frequency and value tiers, lifecycle stage and the ten classes,
a behaviour cluster, P(alive), expected purchases and spend, CLV, churn risk with reasons and
cross-sell recommendations, plus a report of every fitted model's parameters and fit.
`patron.insights` (the database side), `patron analyze` (files) and the benchmark call it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from patron.analytics import baskets as basket_rules
from patron.analytics.churn import ChurnRiskModel
from patron.analytics.classification import CustomerClassifier
from patron.analytics.clustering import BehaviourClusterer
from patron.analytics.clv import BetaGeoModel, GammaGammaModel
from patron.analytics.clv.value import discounted_purchases, month_ends
from patron.analytics.errors import AnalyticsError, InsufficientDataError
from patron.analytics.rfm import RFMSegmenter
from patron.analytics.summary import customer_summary

MODEL_VERSION = "2026.12-1"  # 2026.12: P(alive) churns a customer only after 60 days of silence
# The steps of a full run, in order; `progress` callbacks receive these names as each ends.
VALUE_STEPS = ("summary", "rfm", "clv")
# "churn" and "recommendations" fit their population models (the churn coefficients, the
# association rules); "predict" applies them customer by customer (see `Scoring.slices`).
STEPS = (*VALUE_STEPS, "classes", "clusters", "churn", "recommendations", "predict")
VALUE_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")
Progress = Callable[[str], None]


@dataclass
class PipelineOptions:
    """Settings of one run; every default is stated so a run is reproducible."""

    horizon_days: int = 90  # expected purchases and the churn outcome window
    clv_months: int = 12
    discount_rate: float = 0.10  # annual
    churn_model: bool = True
    clusters: bool = True
    recommendations: int = 3
    min_support: float = 0.005
    random_state: int = 0
    # The churn model's population fit (Cox survival + logistic regression) is made on a seeded
    # sample of at most this many customers (None: all); every customer is then scored. Its cost
    # grows faster than linearly with the number of purchase gaps, and a few tens of thousands of
    # customers pin down its dozen coefficients.
    churn_fit_customers: int | None = 50_000


@dataclass
class PipelineResult:
    customers: pl.DataFrame
    report: dict[str, Any]
    models: dict[str, Any] = field(default_factory=dict)


def _timed(report: dict, name: str, start: float, progress: Progress | None = None) -> float:
    now = time.perf_counter()
    report.setdefault("timings_s", {})[name] = round(now - start, 4)
    if progress is not None:
        progress(name)
    return now


def _fit_report(model: Any) -> dict[str, Any]:
    """Parameters, log-likelihood and fit diagnostics of a fitted CLV model."""
    return {
        "params": model.params_,
        "loglik": model.loglik_,
        "standard_errors": model.standard_errors_,
        "converged": model.converged_,
        "n_iter": model.n_iter_,
        "n_customers": model.n_customers_,
        "n_distinct": model.n_distinct_,
    }


def _value_columns(
    summary: pl.DataFrame, opts: PipelineOptions, report: dict, models: dict
) -> pl.DataFrame:
    """P(alive), expected purchases and spend, CLV: BG/NBD + Gamma-Gamma (weekly time)."""
    purchase = BetaGeoModel().fit(summary)
    models["purchase"] = purchase
    report["bgnbd"] = _fit_report(purchase)
    spends = summary.select("x", "monetary")  # filtered alone: not every column of the summary
    repeaters = spends.filter((pl.col("x") > 0) & (pl.col("monetary") > 0))
    try:
        models["spend"] = GammaGammaModel().fit(repeaters)
        report["gamma_gamma"] = _fit_report(models["spend"])
    except AnalyticsError as exc:  # too few repeat buyers: CLV stays unknown, said in the report
        report["gamma_gamma"] = {"error": str(exc)}
    return _predict_value(summary, purchase, models.get("spend"), opts)


def _predict_value(
    summary: pl.DataFrame,
    purchase: BetaGeoModel,
    spend: GammaGammaModel | None,
    opts: PipelineOptions,
) -> pl.DataFrame:
    # One forecast over the expected-purchases horizon and the CLV month ends: P(alive) once
    # per customer, the expectations once per distinct (x, T) and horizon.
    months = month_ends(opts.clv_months, "week")
    forecast = purchase.forecast([opts.horizon_days / 7, *months], summary)
    columns = {"p_alive": forecast.p_alive, "expected_purchases": forecast.horizon(0)}
    if spend is not None:
        columns["expected_spend"] = spend.conditional_expected_spend(summary)
        columns["clv"] = columns["expected_spend"] * discounted_purchases(
            forecast.select(slice(1, None)), opts.discount_rate
        )
    out = summary.with_columns(
        pl.Series(k, np.asarray(v, dtype=np.float64)) for k, v in columns.items()
    )
    if spend is None:
        out = out.with_columns(
            expected_spend=pl.lit(None, pl.Float64), clv=pl.lit(None, pl.Float64)
        )
    return out


def _rfm_columns(summary: pl.DataFrame, rfm: RFMSegmenter) -> pl.DataFrame:
    scores = rfm.transform(summary).select(
        "customer_id",
        "r_score",
        "f_score",
        "m_score",
        "rfm_code",
        pl.col("segment").cast(pl.String),
        pl.col("class8").cast(pl.String),
    )
    # `transform` returns one row per summary row, in its order: the columns are set side by
    # side (a join would hash a million ids to the same effect). The summary's order (by
    # customer) is kept, so the fits below see the rows in the same order on every run and
    # their floating-point sums do not wander from run to run.
    return summary.hstack(scores.drop("customer_id"))


def _class_columns(
    scored: pl.DataFrame, classifier: CustomerClassifier, as_of: date
) -> pl.DataFrame:
    classes = classifier.transform(scored, as_of=as_of).select(
        "customer_id",
        pl.col("frequency_tier", "value_tier", "lifecycle").cast(pl.String),
        "classes",
    )
    return scored.join(classes, on="customer_id", how="left")


def _no_churn(scored: pl.DataFrame) -> pl.DataFrame:
    return scored.with_columns(churn_risk=pl.lit(None, pl.Float64), churn_reasons=pl.lit(None))


def _fit_sample(transactions: pl.DataFrame, size: int | None, seed: int) -> pl.DataFrame:
    """The purchase lines of a seeded sample of at most `size` customers (all when None)."""
    ids = transactions.get_column("customer_id").unique(maintain_order=True)
    if size is None or ids.len() <= size:
        return transactions
    rng = np.random.default_rng(seed)
    chosen = ids.gather(np.sort(rng.choice(ids.len(), size, replace=False)))
    return transactions.filter(pl.col("customer_id").is_in(chosen.implode()))


def _churn_fit(
    transactions: pl.DataFrame, as_of: date, opts: PipelineOptions, report: dict, models: dict
) -> None:
    """Fit the churn model on the window that ended `horizon_days` ago (scored as of today, in
    `Scoring.slices`)."""
    fit_as_of = as_of - timedelta(days=opts.horizon_days)
    model = ChurnRiskModel()
    sample = _fit_sample(transactions, opts.churn_fit_customers, opts.random_state)
    try:
        model.fit(sample, as_of=fit_as_of, outcome_end=as_of)
    except (InsufficientDataError, AnalyticsError) as exc:
        report["churn"] = {"error": str(exc)}
        return
    models["churn"] = model
    report["churn"] = {
        "fit_as_of": fit_as_of.isoformat(),
        "coef": model.coef_,
        "base_rate": model.base_rate_,
        "horizon_days": model.horizon_days_,
        "fit_customers": model.n_customers_,
    }


def _with_churn(
    scored: pl.DataFrame, model: ChurnRiskModel | None, transactions: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """`scored` with churn risk and its reasons from `transactions` (null without a model)."""
    if model is None:
        return _no_churn(scored)
    churn = model.predict(transactions, as_of=as_of).select(
        "customer_id", "churn_risk", pl.col("reasons").alias("churn_reasons")
    )
    return scored.join(churn, on="customer_id", how="left", maintain_order="left")


def _basket_rules(lines: pl.DataFrame, opts: PipelineOptions, report: dict) -> pl.DataFrame | None:
    itemsets = basket_rules.frequent_itemsets(lines, min_support=opts.min_support, max_len=2)
    rules = basket_rules.association_rules(itemsets)
    report["baskets"] = {"itemsets": itemsets.height, "rules": rules.height}
    return rules if rules.height else None


def _recommendation_columns(rules: pl.DataFrame, lines: pl.DataFrame, k: int) -> pl.DataFrame:
    recs = basket_rules.recommend(rules, lines, k=k)
    return recs.group_by("customer_id").agg(
        pl.col("product_id").sort_by("rank").alias("recommendations")
    )


def value_core(
    transactions: pl.DataFrame,
    *,
    as_of: date,
    options: PipelineOptions | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """The value core: summary, RFM, BG/NBD, Gamma-Gamma, P(alive), expected purchases, CLV.

    The first steps of `score_customers`, on their own: what `bench/analytics_pipeline.py`
    compares with lifetimes and with a bare group-by.

    Returns
    -------
    PipelineResult
        ``customers``: the `customer_summary` columns (weekly), ``days_since_last``, ``r_score``,
        ``f_score``, ``m_score``, ``rfm_code``, ``segment``, ``class8`` (see `rfm`), ``p_alive``,
        ``expected_purchases`` (over ``horizon_days``), ``expected_spend`` and ``clv`` (over
        ``clv_months``; both null when Gamma-Gamma cannot be fitted); ``report``: ``as_of``,
        ``model_version``, ``n_customers``, ``bgnbd`` and ``gamma_gamma`` (``params``,
        ``loglik``, ...) and ``timings_s``; ``models``: ``rfm``, ``purchase``, ``spend``.

    Raises
    ------
    InsufficientDataError
        No purchase on or before `as_of`, or no repeat purchase at all (BG/NBD cannot be fitted).
    InputError
        Malformed transactions (the row and column are named).
    """
    opts = options or PipelineOptions()
    report: dict[str, Any] = {"as_of": as_of.isoformat(), "model_version": MODEL_VERSION}
    models: dict[str, Any] = {}
    t = time.perf_counter()
    summary = customer_summary(transactions, as_of=as_of, unit="week")
    if summary.height == 0:
        raise InsufficientDataError("no purchases on or before the date of the analysis")
    report["n_customers"] = summary.height
    summary = summary.with_columns((pl.col("recency") * 7).alias("days_since_last"))
    t = _timed(report, "summary", t, progress)

    models["rfm"] = RFMSegmenter().fit(summary)
    scored = _rfm_columns(summary, models["rfm"])
    t = _timed(report, "rfm", t, progress)

    scored = _value_columns(scored, opts, report, models)
    _timed(report, "clv", t, progress)
    return PipelineResult(customers=scored, report=report, models=models)


@dataclass
class Scoring:
    """A run's population fits and the per-customer columns they give at once.

    ``customers`` holds every column of `score_customers` but the three scored customer by
    customer against the fits: churn risk, its reasons and the recommendations, which
    `slices` adds. Those need no other customer's result, so a caller can store one slice
    while the next is scored (the CRM's refresh: the database takes the snapshots of a slice
    while the models score the next, on the other core).
    """

    customers: pl.DataFrame
    report: dict[str, Any]
    models: dict[str, Any]
    transactions: pl.DataFrame
    lines: pl.DataFrame | None
    rules: pl.DataFrame | None
    as_of: date
    options: PipelineOptions
    progress: Progress | None = None

    def slices(self, size: int | None = None) -> Iterator[pl.DataFrame]:
        """The customers with churn risk and recommendations, `size` customers at a time (all
        at once by default), in the order of ``customers`` (which a caller may sort first).
        The columns, and every customer's values, are those of `score_customers` whatever the
        slicing."""
        spent = 0.0
        for customers, transactions, lines in self._parts(size):
            began = time.perf_counter()
            part = self._predict(customers, transactions, lines)
            spent += time.perf_counter() - began
            yield part
        timings = self.report.setdefault("timings_s", {})
        timings["predict"] = round(spent, 4)
        timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 4)
        if self.progress is not None:
            self.progress("predict")

    def _parts(self, size: int | None) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]]:
        """Each slice's customers with their purchases and basket lines."""
        customers = self.customers
        if size is None or size >= customers.height:
            yield customers, self.transactions, self.lines
            return
        numbered = customers.select("customer_id", (pl.int_range(pl.len()) // size).cast(pl.UInt32).alias("slice"))

        def by_slice(frame: pl.DataFrame | None) -> dict[int, pl.DataFrame]:
            if frame is None:
                return {}
            joined = frame.join(numbered, on="customer_id", how="inner", maintain_order="left")
            return {key[0]: part.drop("slice")
                    for key, part in joined.partition_by("slice", as_dict=True, maintain_order=True).items()}

        transactions, lines = by_slice(self.transactions), by_slice(self.lines)
        empty_tx = self.transactions.clear()
        empty_lines = None if self.lines is None else self.lines.clear()
        for number, start in enumerate(range(0, customers.height, size)):
            yield (customers.slice(start, size), transactions.get(number, empty_tx),
                   lines.get(number, empty_lines))

    def _predict(self, customers: pl.DataFrame, transactions: pl.DataFrame,
                 lines: pl.DataFrame | None) -> pl.DataFrame:
        customers = _with_churn(customers, self.models.get("churn"), transactions, self.as_of)
        if self.rules is not None and lines is not None and lines.height:
            recs = _recommendation_columns(self.rules, lines, self.options.recommendations)
            return customers.join(recs, on="customer_id", how="left", maintain_order="left")
        return customers.with_columns(recommendations=pl.lit(None, pl.List(pl.String)))


def fit_customers(
    transactions: pl.DataFrame,
    *,
    as_of: date,
    lines: pl.DataFrame | Callable[[], pl.DataFrame] | None = None,
    options: PipelineOptions | None = None,
    progress: Progress | None = None,
) -> Scoring:
    """Every population fit of `score_customers` and the columns they give at once; churn
    risk and recommendations come from `Scoring.slices`. Parameters as `score_customers`."""
    opts = options or PipelineOptions()
    core = value_core(transactions, as_of=as_of, options=opts, progress=progress)
    scored, report, models = core.customers, core.report, core.models
    t = time.perf_counter()

    models["classifier"] = CustomerClassifier(p_alive_col="p_alive").fit(scored)
    scored = _class_columns(scored, models["classifier"], as_of)
    t = _timed(report, "classes", t, progress)

    scored = _cluster_columns(scored, opts, report, models)
    t = _timed(report, "clusters", t, progress)

    if opts.churn_model:
        _churn_fit(transactions, as_of, opts, report, models)
    t = _timed(report, "churn", t, progress)

    if callable(lines):
        lines = lines()
    rules = _basket_rules(lines, opts, report) if lines is not None and lines.height > 0 else None
    _timed(report, "recommendations", t, progress)
    return Scoring(customers=scored, report=report, models=models, transactions=transactions,
                   lines=lines if rules is not None else None, rules=rules, as_of=as_of, options=opts,
                   progress=progress)


def score_customers(
    transactions: pl.DataFrame,
    *,
    as_of: date,
    lines: pl.DataFrame | Callable[[], pl.DataFrame] | None = None,
    options: PipelineOptions | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """Score every customer with a purchase on or before `as_of`.

    Parameters
    ----------
    transactions : polars.DataFrame
        ``customer_id``, ``date``, ``amount`` (see `summary.customer_summary`).
    lines : polars.DataFrame or callable, optional
        Order lines ``order_id``, ``customer_id``, ``product_id`` for cross-sell rules; or a
        function returning them, called when the recommendations step starts (so that a caller
        can still be reading them while the other steps run).
    options : PipelineOptions, optional
    progress : callable, optional
        Called with each step's name (see `STEPS`) as it ends, e.g. to move a progress bar.

    Returns
    -------
    PipelineResult
        ``customers``: the summary columns plus ``days_since_last``, ``r_score``, ``f_score``,
        ``m_score``, ``rfm_code``, ``segment``, ``class8``, ``p_alive``,
        ``expected_purchases`` (over ``horizon_days``), ``expected_spend``, ``clv``,
        ``frequency_tier``, ``value_tier``, ``lifecycle``, ``classes``, ``cluster``,
        ``cluster_label``, ``churn_risk``, ``churn_reasons``, ``recommendations``; ``report``:
        parameters, log-likelihoods, diagnostics and ``timings_s`` per step (seconds);
        ``models``: the fitted estimators.
    """
    scoring = fit_customers(transactions, as_of=as_of, lines=lines, options=options, progress=progress)
    customers = pl.concat(list(scoring.slices()))
    return PipelineResult(customers=customers, report=scoring.report, models=scoring.models)


def _cluster_columns(
    scored: pl.DataFrame, opts: PipelineOptions, report: dict, models: dict
) -> pl.DataFrame:
    if not opts.clusters or scored.height < 50:
        return scored.with_columns(
            cluster=pl.lit(None, pl.Int64), cluster_label=pl.lit(None, pl.String)
        )
    clusterer = BehaviourClusterer(random_state=opts.random_state).fit(scored)
    models["clusters"] = clusterer
    described = clusterer.describe()
    report["clusters"] = described.select(
        "cluster", "size", "share", "phrase_keys", "description"
    ).to_dicts()
    scored = scored.with_columns(cluster=pl.Series(clusterer.predict(scored)))
    return scored.join(
        described.select("cluster", pl.col("description").alias("cluster_label")),
        on="cluster",
        how="left",
    )


def rescore(
    models: dict[str, Any],
    transactions: pl.DataFrame,
    *,
    as_of: date,
    options: PipelineOptions | None = None,
) -> pl.DataFrame:
    """Score some customers with the estimators of an earlier `score_customers` run.

    Used between full runs when one customer's history changes (a new order): the population
    fits (segment edges, model parameters, churn coefficients) stay fixed, so the customer is
    placed on the same scale as everyone else. Returns the columns of `score_customers`
    (without recommendations, which need the whole basket population).
    """
    opts = options or PipelineOptions()
    summary = customer_summary(transactions, as_of=as_of, unit="week").with_columns(
        (pl.col("recency") * 7).alias("days_since_last")
    )
    scored = _rfm_columns(summary, models["rfm"])
    scored = _predict_value(scored, models["purchase"], models.get("spend"), opts)
    scored = _class_columns(scored, models["classifier"], as_of)
    if "clusters" in models:
        described = (
            models["clusters"]
            .describe()
            .select("cluster", pl.col("description").alias("cluster_label"))
        )
        scored = scored.with_columns(cluster=pl.Series(models["clusters"].predict(scored))).join(
            described, on="cluster", how="left"
        )
    else:
        scored = scored.with_columns(
            cluster=pl.lit(None, pl.Int64), cluster_label=pl.lit(None, pl.String)
        )
    scored = _with_churn(scored, models.get("churn"), transactions, as_of)
    return scored.with_columns(recommendations=pl.lit(None, pl.List(pl.String)))
