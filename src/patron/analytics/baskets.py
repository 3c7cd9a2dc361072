"""Association rules from order baskets and cross-sell recommendations.

Frequent itemsets are found level by level as in Apriori (Agrawal & Srikant 1994, "Fast
algorithms for mining association rules", Proc. 20th VLDB, 487-499): only items that are frequent
on their own can be in a frequent pair, and a triple is counted only when its three pairs are all
frequent. Counting is a polars self-join of the baskets on the order id, so it stays vectorised.
Itemsets of up to three products are mined (pairs and triples carry nearly all cross-sell value).

For a rule A -> C (A and C disjoint itemsets), with supp(X) the share of orders holding X:

- support = supp(A u C); confidence = supp(A u C) / supp(A) (the share of A-orders that hold C);
- lift = confidence / supp(C) (above 1 when A makes C more likely than it is in general);
- leverage = supp(A u C) - supp(A) supp(C) (Piatetsky-Shapiro 1991);
- conviction = (1 - supp(C)) / (1 - confidence) (Brin, Motwani, Ullman & Tsur 1997, "Dynamic
  itemset counting and implication rules for market basket data", SIGMOD '97), infinite for a
  rule that always holds.

Baskets: a frame with ``order_id`` and ``product_id`` (any hashable, sortable dtypes; the column
names may be changed), one row per order line; duplicate lines count once, and other columns
(e.g. ``quantity``) are ignored. With a ``customer_id`` column the same frame is what `recommend`
takes as the products each customer already bought.
"""

from __future__ import annotations

from itertools import combinations

import polars as pl

from patron.analytics.errors import InputError, InsufficientDataError

__all__ = ["association_rules", "frequent_itemsets", "recommend"]


def _require(frame: pl.DataFrame, *columns: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise InputError("no such column", column=column)
        nulls = frame.get_column(column).is_null().arg_true()
        if nulls.len():
            raise InputError("missing value", row=int(nulls[0]) + 1, column=column)


def _support_filter(count: pl.Expr, n_orders: int, min_support: float) -> pl.Expr:
    return (count / n_orders) >= min_support


def _pairs_and_triples(
    kept: pl.DataFrame, n_orders: int, min_support: float, max_len: int
) -> list[pl.DataFrame]:
    """Frequent pairs (i0 < i1) and, when max_len is 3, triples (i0 < i1 < i2) of item codes.

    A triple is counted only when its three pairs are all frequent (Apriori pruning).
    """
    order_pairs = (
        kept.join(kept, on="order", suffix="_b")
        .filter(pl.col("item") < pl.col("item_b"))
        .rename({"item": "i0", "item_b": "i1"})
    )
    pairs = (
        order_pairs.group_by("i0", "i1")
        .agg(count=pl.len())
        .filter(_support_filter(pl.col("count"), n_orders, min_support))
    )
    if max_len < 3 or pairs.height < 3:
        return [pairs]
    keys = pairs.select("i0", "i1")
    triples = (
        order_pairs.join(keys, on=["i0", "i1"], how="semi")
        .join(kept.rename({"item": "i2"}), on="order")
        .filter(pl.col("i2") > pl.col("i1"))
        .join(keys.rename({"i1": "i2"}), on=["i0", "i2"], how="semi")
        .join(keys.rename({"i0": "i1", "i1": "i2"}), on=["i1", "i2"], how="semi")
        .group_by("i0", "i1", "i2")
        .agg(count=pl.len())
        .filter(_support_filter(pl.col("count"), n_orders, min_support))
    )
    return [pairs, triples]


def frequent_itemsets(
    baskets: pl.DataFrame,
    *,
    min_support: float = 0.01,
    max_len: int = 3,
    order_col: str = "order_id",
    product_col: str = "product_id",
) -> pl.DataFrame:
    """Itemsets of 1..max_len products held by at least `min_support` of the orders.

    Parameters
    ----------
    baskets : polars.DataFrame
        Order lines with `order_col` and `product_col`.
    min_support : float, default 0.01
        Smallest share of orders (0 < min_support <= 1).
    max_len : int, default 3
        Largest itemset size: 1, 2 or 3.

    Returns
    -------
    polars.DataFrame
        ``itemset`` (List of product ids, ascending), ``size`` (Int64), ``count`` (orders
        holding the itemset, Int64) and ``support`` (Float64), sorted by size, then decreasing
        support, then itemset. Every subset of a listed itemset is listed too.
    """
    if not 0 < min_support <= 1:
        raise InputError(f"min_support must be in (0, 1], got {min_support}")
    if max_len not in (1, 2, 3):
        raise InputError(f"max_len must be 1, 2 or 3, got {max_len}")
    _require(baskets, order_col, product_col)
    if baskets.height == 0:
        raise InsufficientDataError("no order lines to mine")
    products = baskets.select(product_col).unique().sort(product_col).with_row_index("item")
    lines = (
        baskets.select(order_col, product_col)
        .unique()
        .join(products, on=product_col)
        .select(order=order_col, item="item")
    )
    n_orders = lines.get_column("order").n_unique()
    singles = (
        lines.group_by(i0="item")
        .agg(count=pl.len())
        .filter(_support_filter(pl.col("count"), n_orders, min_support))
    )
    levels = [singles]
    if max_len >= 2 and singles.height >= 2:
        # Apriori: a product that is rare on its own cannot be in a frequent pair or triple.
        kept = lines.join(singles.select("i0"), left_on="item", right_on="i0", how="semi")
        levels += _pairs_and_triples(kept, n_orders, min_support, max_len)
    return _decode(levels, products, product_col, n_orders)


def _decode(
    levels: list[pl.DataFrame], products: pl.DataFrame, product_col: str, n_orders: int
) -> pl.DataFrame:
    """Turn item codes back into product ids and stack the levels."""
    out = []
    for size, level in enumerate(levels, start=1):
        for j in range(size):
            level = level.join(products.rename({"item": f"i{j}", product_col: f"p{j}"}), on=f"i{j}")
        out.append(
            level.select(
                pl.concat_list([pl.col(f"p{j}") for j in range(size)]).alias("itemset"),
                pl.lit(size, dtype=pl.Int64).alias("size"),
                pl.col("count").cast(pl.Int64),
            )
        )
    frame = pl.concat(out).with_columns((pl.col("count") / n_orders).alias("support"))
    return frame.sort(["size", "support", "itemset"], descending=[False, True, False])


def association_rules(itemsets: pl.DataFrame, *, min_confidence: float = 0.2) -> pl.DataFrame:
    """Rules A -> C from frequent itemsets, for every split of each itemset of 2+ products.

    Parameters
    ----------
    itemsets : polars.DataFrame
        As returned by `frequent_itemsets` (``itemset``, ``support``); every subset of an
        itemset must be present, which `frequent_itemsets` guarantees.
    min_confidence : float, default 0.2
        Smallest confidence kept (0 <= min_confidence <= 1).

    Returns
    -------
    polars.DataFrame
        ``antecedent`` and ``consequent`` (Lists of product ids), ``antecedent_support``,
        ``consequent_support``, ``support``, ``confidence``, ``lift``, ``leverage``,
        ``conviction`` (Float64; conviction is inf when confidence is 1), sorted by decreasing
        confidence, then lift, then antecedent and consequent.
    """
    if not 0 <= min_confidence <= 1:
        raise InputError(f"min_confidence must be in [0, 1], got {min_confidence}")
    for column in ("itemset", "support"):
        if column not in itemsets.columns:
            raise InputError("no such column", column=column)
    table = itemsets.select("itemset", "support")
    sizes = itemsets.get_column("itemset").list.len()
    parts = []
    for size in sorted(set(sizes.to_list()) - {0, 1}):
        base = itemsets.filter(sizes == size)
        for n_ante in range(1, size):
            for ante in combinations(range(size), n_ante):
                cons = [j for j in range(size) if j not in ante]
                parts.append(
                    base.select(
                        pl.concat_list([pl.col("itemset").list.get(j) for j in ante]).alias(
                            "antecedent"
                        ),
                        pl.concat_list([pl.col("itemset").list.get(j) for j in cons]).alias(
                            "consequent"
                        ),
                        "support",
                    )
                )
    empty = {
        "antecedent": table.schema["itemset"],
        "consequent": table.schema["itemset"],
        "support": pl.Float64,
    }
    rules = pl.concat(parts) if parts else pl.DataFrame(schema=empty)
    return _rule_measures(rules, table, min_confidence)


def _rule_measures(rules: pl.DataFrame, table: pl.DataFrame, min_confidence: float) -> pl.DataFrame:
    rules = rules.join(
        table.rename({"itemset": "antecedent", "support": "antecedent_support"}),
        on="antecedent",
        how="left",
    ).join(
        table.rename({"itemset": "consequent", "support": "consequent_support"}),
        on="consequent",
        how="left",
    )
    missing = rules.filter(
        pl.col("antecedent_support").is_null() | pl.col("consequent_support").is_null()
    )
    if missing.height:
        raise InputError(
            "itemsets must hold every subset of each itemset (as frequent_itemsets returns them)",
            column="itemset",
        )
    confidence = pl.col("support") / pl.col("antecedent_support")
    a, c = pl.col("antecedent_support"), pl.col("consequent_support")
    return (
        rules.with_columns(confidence.alias("confidence"))
        .filter(pl.col("confidence") >= min_confidence)
        .with_columns(
            (pl.col("confidence") / c).alias("lift"),
            (pl.col("support") - a * c).alias("leverage"),
            pl.when(pl.col("confidence") >= 1)
            .then(float("inf"))
            .otherwise((1 - c) / (1 - pl.col("confidence")))
            .alias("conviction"),
        )
        .select(
            "antecedent",
            "consequent",
            "antecedent_support",
            "consequent_support",
            "support",
            "confidence",
            "lift",
            "leverage",
            "conviction",
        )
        .sort(
            ["confidence", "lift", "antecedent", "consequent"],
            descending=[True, True, False, False],
        )
    )


def recommend(
    rules: pl.DataFrame,
    customer_products: pl.DataFrame,
    k: int = 5,
    *,
    min_lift: float = 1.0,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
) -> pl.DataFrame:
    """Top-k cross-sell products per customer from association rules.

    A rule applies to a customer who has bought every product of its antecedent; it proposes
    each product of its consequent that the customer has not bought. A product's score is
    confidence x lift of the best rule proposing it (confidence: how likely the purchase is;
    lift: how much the customer's history raises that likelihood over the base rate).

    Parameters
    ----------
    rules : polars.DataFrame
        As returned by `association_rules`.
    customer_products : polars.DataFrame
        What each customer bought: `customer_col` and `product_col` (e.g. the baskets frame);
        duplicates and other columns are ignored.
    k : int, default 5
        Recommendations per customer (at most).
    min_lift : float, default 1.0
        Rules with a smaller lift are ignored: by default only rules where the customer's
        history makes the product more likely than its base rate.

    Returns
    -------
    polars.DataFrame
        `customer_col`, `product_col`, ``rank`` (1 = best), ``score``, ``confidence``, ``lift``
        and ``because`` (the antecedent of the rule, to explain the recommendation), sorted by
        customer and rank. Ties are broken by product id. Customers no rule applies to are
        absent.
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    _require(customer_products, customer_col, product_col)
    bought = customer_products.select(customer_col, product_col).unique()
    ranked = (
        rules.filter(pl.col("lift") >= min_lift)
        .select("antecedent", "consequent", "confidence", "lift")
        .with_row_index("rule")
        .with_columns(
            (pl.col("confidence") * pl.col("lift")).alias("score"),
            pl.col("antecedent").list.len().alias("n_ante"),
        )
    )
    held = (
        bought.join(
            ranked.select("rule", "antecedent").explode("antecedent"),
            left_on=product_col,
            right_on="antecedent",
        )
        .group_by(customer_col, "rule")
        .agg(pl.len().alias("n_held"))
    )
    applies = held.join(ranked, on="rule").filter(pl.col("n_held") == pl.col("n_ante"))
    proposals = (
        applies.explode("consequent")
        .rename({"consequent": product_col})
        .join(bought, on=[customer_col, product_col], how="anti")
    )
    best = proposals.sort(
        [customer_col, "score", product_col, "rule"], descending=[False, True, False, False]
    ).unique([customer_col, product_col], keep="first", maintain_order=True)
    return (
        best.with_columns(pl.int_range(1, pl.len() + 1).over(customer_col).alias("rank"))
        .filter(pl.col("rank") <= k)
        .select(
            customer_col,
            product_col,
            pl.col("rank").cast(pl.UInt32),
            "score",
            "confidence",
            "lift",
            pl.col("antecedent").alias("because"),
        )
    )
