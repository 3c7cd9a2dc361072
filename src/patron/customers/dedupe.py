"""Finding customers that are probably the same person or company (查重), fast at a million rows.

Detection never compares every customer with every other one. Rows are put in *blocks* that
duplicates are likely to share, and only rows within a block are compared:

- the same normalised phone (digits with the country code, whatever the formatting);
- the same e-mail, case-folded;
- for fuzzy names, the same region or the same company (legal suffixes dropped) together with
  a two-character key of the normalised name. Each name yields three keys, its first+second,
  first+last and second+last characters, so one typo, insertion or deletion anywhere in a
  name still leaves the pair sharing at least one block; no pinyin is needed for Chinese names.

Pairs found in name blocks are kept only when the names are within a small edit distance
(optimal string alignment: a swap of two adjacent letters counts as one edit),
then every pair gets a score in [0, 1] (see `score_pairs`) and the reasons that produced it.

The core (`find_duplicates`) works on a polars frame; `customers_frame` reads the database in
bulk and `duplicate_scan` files new pairs in the review queue (`DuplicatePair`).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
import polars as pl
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist

COLUMNS = ("id", "name", "company_name", "phone", "email", "region")
REASONS = (
    "same_phone",
    "same_email",
    "similar_name+same_company",
    "similar_name+same_region",
    "different_name",
)
# How much each kind of evidence alone says "same customer"; combined as a noisy-or. A name
# and a region alone stay below the default threshold (0.6): common names repeat in a region
# (bench/dedupe.py: precision 0.02 when they were let in), so they only add to other evidence.
WEIGHTS = {
    "same_phone": 0.9,
    "same_email": 0.9,
    "similar_name+same_company": 0.9,
    "similar_name+same_region": 0.5,
}
# Company names differ mostly by their legal form ("Acme Ltd" / "Acme Co., Ltd.").
_LEGAL_SUFFIX = (
    r"(股份有限公司|有限责任公司|有限公司|公司|集团|limited|ltd|inc|llc|corporation|corp|co|gmbh)$"
)


@dataclass
class Detection:
    """The result of `find_duplicates`.

    pairs : polars frame with columns ``a`` (str id), ``b`` (str id, ``a < b``), ``score``
        (float 0-1), ``reasons`` (list[str], from `REASONS`), sorted by score, best first.
    compared : number of candidate pairs scored.
    skipped_blocks : blocks larger than ``max_block`` that were not expanded (a shared
        switchboard number, a placeholder e-mail): they would add many pairs and little signal.
    """

    pairs: pl.DataFrame
    compared: int
    skipped_blocks: int


def _norm(expr: pl.Expr) -> pl.Expr:
    """NFKC-fold, lower-case and drop everything but letters and digits."""
    return (
        expr.fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]", "")
    )


def phone_key(expr: pl.Expr, *, country_code: str = "86") -> pl.Expr:
    """Digits of a phone with its country code: "+86 138-1234-5678", "13812345678" and
    "0086 13812345678" give one key. A national number (no "+" or "00") of at most 11 digits
    gets `country_code`, dropping a leading trunk "0". Fewer than 6 digits: no key."""
    raw = expr.fill_null("").str.strip_chars()
    digits = raw.str.replace_all(r"\D", "")
    key = (
        pl.when(raw.str.starts_with("+"))
        .then(digits)
        .when(digits.str.starts_with("00"))
        .then(digits.str.slice(2))
        .when(digits.str.len_chars() <= 11)
        .then(pl.lit(country_code) + digits.str.strip_chars_start("0"))
        .otherwise(digits)
    )
    return pl.when(digits.str.len_chars() >= 6).then(key).otherwise(pl.lit(""))


def prepare(customers: pl.DataFrame, *, country_code: str = "86") -> pl.DataFrame:
    """Add the matching keys to a frame with the `COLUMNS`; `row` numbers the rows."""
    missing = [c for c in COLUMNS if c not in customers.columns]
    if missing:
        raise ValueError(f"customers frame lacks columns {missing}")
    return (
        customers.with_columns(
            pl.col("id").cast(pl.String),
            name_key=_norm(pl.col("name")),
            company_key=_norm(pl.col("company_name"))
            .str.replace(_LEGAL_SUFFIX, "")
            .str.replace(_LEGAL_SUFFIX, ""),
            region_key=_norm(pl.col("region")),
            phone_key=phone_key(pl.col("phone"), country_code=country_code),
            email_key=pl.col("email").fill_null("").str.strip_chars().str.to_lowercase(),
        )
        .with_columns(
            email_key=pl.when(pl.col("email_key").str.contains("@"))
            .then("email_key")
            .otherwise(pl.lit("")),
        )
        .with_row_index("row")
    )


def _name_blocks(prep: pl.DataFrame) -> pl.DataFrame:
    """One row per (customer, block key, reason) for the fuzzy-name blocks."""
    n = pl.col("name_key")
    keys = pl.concat_list(
        n.str.slice(0, 1) + n.str.slice(1, 1),
        n.str.slice(0, 1) + n.str.slice(-1, 1),
        n.str.slice(1, 1) + n.str.slice(-1, 1),
    ).list.unique()
    named = prep.filter(n.str.len_chars() >= 2).select(
        "row", "is_new", "company_key", "region_key", nk=keys
    )
    parts = []
    for column, reason in (
        ("company_key", "similar_name+same_company"),
        ("region_key", "similar_name+same_region"),
    ):
        parts.append(
            named.filter(pl.col(column) != "")
            .explode("nk")
            .select(
                "row", "is_new", key=pl.col(column) + "\x1f" + pl.col("nk"), reason=pl.lit(reason)
            )
        )
    return pl.concat(parts)


def _pairs_within(
    keys: pl.DataFrame, *, max_block: int, only_new: bool
) -> tuple[pl.DataFrame, int]:
    """Every pair of rows sharing a key (frame: row, is_new, key, reason) -> (i, j, reason)."""
    sizes = keys.group_by("key").agg(n=pl.len(), any_new=pl.col("is_new").any())
    skipped = sizes.filter(pl.col("n") > max_block).height
    wanted = sizes.filter(pl.col("n").is_between(2, max_block))
    if only_new:
        wanted = wanted.filter("any_new")
    keys = keys.join(wanted.select("key"), on="key")
    pairs = keys.join(keys.select("row", "is_new", "key"), on="key", suffix="_r").filter(
        pl.col("row") < pl.col("row_r")
    )
    if only_new:
        pairs = pairs.filter(pl.col("is_new") | pl.col("is_new_r"))
    return pairs.select(i="row", j="row_r", reason="reason"), skipped


def _allowed_edits(length: pl.Expr) -> pl.Expr:
    # Two-character names (most Chinese given names are one character) must match exactly:
    # 王伟 and 王芳 are different people, not a typo. One edit up to 8 characters, two beyond.
    return pl.when(length >= 9).then(2).when(length >= 3).then(1).otherwise(0)


def score_pairs(pairs: pl.DataFrame, prep: pl.DataFrame) -> pl.DataFrame:
    """Confirm name-block pairs by edit distance and score every pair.

    Each piece of evidence has a weight (`WEIGHTS`); a similar name counts
    ``weight * (0.5 + 0.5 * s)`` where ``s`` is the Indel similarity of the normalised names, so
    an exact name with the same company gives 0.9 and a one-letter typo a little less. The
    evidence combines as a noisy-or, ``1 - prod(1 - p)``. A pair matched on phone or e-mail
    whose names are unalike (s < 0.4: family members sharing a number) is scaled by 0.75
    and gets the reason "different_name".
    """
    grouped = pairs.group_by("i", "j").agg(pl.col("reason").unique().sort())
    names = prep["name_key"]
    grouped = grouped.with_columns(
        left=names.gather(grouped["i"]), right=names.gather(grouped["j"])
    )
    # Common names repeat: compare each distinct pair of names once, not each pair of rows.
    distinct = grouped.select("left", "right").unique()
    left, right = distinct["left"].to_list(), distinct["right"].to_list()
    sim = cpdist(left, right, scorer=fuzz.ratio, workers=-1) / 100.0 if left else []
    edits = cpdist(left, right, scorer=OSA.distance, workers=-1) if left else []
    distinct = distinct.with_columns(
        sim=pl.Series(sim, dtype=pl.Float64),
        edits=pl.Series(edits, dtype=pl.Int64),
        length=pl.max_horizontal(pl.col("left").str.len_chars(), pl.col("right").str.len_chars()),
    )
    del left, right
    scored = grouped.join(distinct, on=["left", "right"], how="left").drop("left", "right")
    name_ok = pl.col("edits") <= _allowed_edits(pl.col("length"))
    similar = [r for r in REASONS if r.startswith("similar_name")]
    reasons = (
        pl.when(name_ok)
        .then("reason")
        .otherwise(pl.col("reason").list.set_difference(pl.lit(similar)).list.sort())
    )
    scored = scored.with_columns(reasons=reasons).filter(pl.col("reasons").list.len() > 0)
    miss = pl.lit(1.0)
    for reason, weight in WEIGHTS.items():
        scale = (
            weight * (0.5 + 0.5 * pl.col("sim")) if reason.startswith("similar") else pl.lit(weight)
        )
        miss = miss * pl.when(pl.col("reasons").list.contains(reason)).then(1 - scale).otherwise(
            1.0
        )
    unalike = (pl.col("sim") < 0.4) & ~pl.col("reasons").list.eval(
        pl.element().str.starts_with("similar")
    ).list.any()
    return scored.with_columns(
        score=(1 - miss) * pl.when(unalike).then(0.75).otherwise(1.0),
        reasons=pl.when(unalike)
        .then(pl.col("reasons").list.concat(pl.lit(["different_name"])))
        .otherwise("reasons"),
    )


def find_duplicates(
    customers: pl.DataFrame,
    *,
    new_ids: Iterable[Any] | None = None,
    min_score: float = 0.6,
    max_block: int = 200,
    country_code: str = "86",
) -> Detection:
    """Likely duplicate pairs among `customers` (columns `COLUMNS`; ``id`` any type, compared
    as strings). With `new_ids`, only pairs involving at least one of those rows are returned
    (incoming records against the existing ones, or what changed since the last scan)."""
    only_new = new_ids is not None
    new = {str(i) for i in new_ids} if new_ids is not None else set()
    prep = prepare(customers, country_code=country_code).with_columns(
        is_new=pl.col("id").is_in(list(new)) if only_new else pl.lit(False)
    )
    blocks = [_name_blocks(prep)]
    for column, reason in (("phone_key", "same_phone"), ("email_key", "same_email")):
        blocks.append(
            prep.filter(pl.col(column) != "").select(
                "row", "is_new", key=pl.col(column), reason=pl.lit(reason)
            )
        )
    pairs, skipped = _pairs_within(pl.concat(blocks), max_block=max_block, only_new=only_new)
    scored = score_pairs(pairs, prep)
    ids = prep["id"]
    a, b = ids.gather(scored["i"]), ids.gather(scored["j"])
    result = (
        scored.select("score", "reasons")
        .with_columns(a=pl.when(a < b).then(a).otherwise(b), b=pl.when(a < b).then(b).otherwise(a))
        .filter(pl.col("score") >= min_score)
        .sort("score", "a", "b", descending=[True, False, False])
    )
    return Detection(
        pairs=result.select("a", "b", "score", "reasons"),
        compared=scored.height,
        skipped_blocks=skipped,
    )


# --- The database side -------------------------------------------------------------------


def country_code_of(region: str) -> str:
    return str(phonenumbers.country_code_for_region(region or "CN") or 86)


def customers_frame(*, since: dt.datetime | None = None) -> tuple[pl.DataFrame, list[str]]:
    """Every live customer of the organisation in scope as a frame with `COLUMNS`, read in
    bulk; and the ids of those created or changed at or after `since` (all when None)."""
    from patron.customers.models import Customer

    rows = Customer.objects.filter(is_archived=False).values_list(*COLUMNS, "updated_at")
    columns: list[list[Any]] = [[] for _ in range(len(COLUMNS) + 1)]
    for row in rows.iterator(chunk_size=20_000):
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    frame = pl.DataFrame(
        {
            name: [str(v) for v in columns[0]] if name == "id" else columns[k]
            for k, name in enumerate(COLUMNS)
        },
        schema={name: pl.String for name in COLUMNS},
    )
    if since is None:
        return frame, frame["id"].to_list()
    return frame, [str(pk) for pk, at in zip(columns[0], columns[-1], strict=True) if at >= since]


def duplicate_scan(
    *, organization: Any, since: dt.datetime | None = None, min_score: float = 0.6
) -> list:
    """File the likely duplicates of the organisation in scope in the review queue.

    Pairs already in the queue, whatever their status, are left alone (a dismissed pair stays
    dismissed). With `since`, only pairs involving a customer changed since then are looked
    for. Returns the `DuplicatePair` rows created.
    """
    from patron.customers.models import DuplicatePair

    frame, changed = customers_frame(since=since)
    if frame.height < 2 or not changed:
        return []
    found = find_duplicates(
        frame,
        new_ids=changed if since is not None else None,
        min_score=min_score,
        country_code=country_code_of(organization.phone_region),
    ).pairs
    known = {(str(a), str(b)) for a, b in DuplicatePair.objects.values_list("a_id", "b_id")}
    fresh = [
        DuplicatePair(
            organization_id=organization.pk, a_id=a, b_id=b, score=round(score, 4), reasons=reasons
        )
        for a, b, score, reasons in found.iter_rows()
        if (a, b) not in known
    ]
    # A concurrent scan may file the same pair: the unique constraint makes that harmless.
    DuplicatePair.objects.bulk_create(fresh, batch_size=1000, ignore_conflicts=True)
    return fresh


# A scan asked for from the queue page runs one at a time per organisation: a scan of a large
# customer base takes minutes, and a second one beside it would only repeat its work. The
# claim is a counter row holding the start time; one older than this is taken as abandoned
# (its worker killed).
SCAN_CLAIM_KEY = "duplicate_scan"
SCAN_STALE_AFTER = dt.timedelta(hours=2)


def scan_claim(*, organization_id: Any) -> bool:
    """Claim the organisation's scan; False if one is already under way."""
    from django.db import transaction
    from django.utils import timezone

    from patron.organizations.models import Counter  # the frame functions above need no Django

    now = int(timezone.now().timestamp())
    with transaction.atomic():
        Counter.objects.get_or_create(organization_id=organization_id, key=SCAN_CLAIM_KEY)
        # One conditional UPDATE: of two requests at once, one claims and the other sees it taken.
        return bool(Counter.objects.filter(
            organization_id=organization_id, key=SCAN_CLAIM_KEY,
            value__lt=now - int(SCAN_STALE_AFTER.total_seconds()),
        ).update(value=now))


def scan_release(*, organization_id: Any) -> None:
    from patron.organizations.models import Counter

    Counter.objects.filter(organization_id=organization_id, key=SCAN_CLAIM_KEY).update(value=0)


def match_incoming(
    rows: pl.DataFrame, *, organization: Any, min_score: float = 0.6
) -> pl.DataFrame:
    """Existing customers that rows about to be imported probably duplicate.

    `rows` has the `COLUMNS`, its ``id`` being any label unique among the rows (e.g. the
    line number). Returns columns ``incoming`` (that label), ``customer`` (the existing
    customer's id), ``score`` and ``reasons``, best first; pairs among the incoming rows
    themselves are left out.
    """
    existing, _ = customers_frame()
    incoming = (
        rows.select(COLUMNS)
        .cast(dict.fromkeys(COLUMNS, pl.String))
        .with_columns(id=pl.lit("new:") + pl.col("id"))
    )
    found = find_duplicates(
        pl.concat([existing, incoming]),
        new_ids=incoming["id"].to_list(),
        min_score=min_score,
        country_code=country_code_of(organization.phone_region),
    ).pairs
    a_new, b_new = pl.col("a").str.starts_with("new:"), pl.col("b").str.starts_with("new:")
    return found.filter(a_new != b_new).select(
        incoming=pl.when(a_new).then("a").otherwise("b").str.strip_prefix("new:"),
        customer=pl.when(a_new).then("b").otherwise("a"),
        score="score",
        reasons="reasons",
    )


# --- Reading the review queue --------------------------------------------------------------


def duplicate_list(
    *, user: Any, status: str = "open", min_score: float | None = None, reason: str = ""
) -> Any:
    """Pairs in the queue whose customers `user` may both see, best score first. A merged
    pair's retired side is null; the survivor decides whether it is visible."""
    from django.db.models import Q

    from patron.customers.models import Customer, DuplicatePair

    visible = Customer.objects.visible_to(user).values("pk")
    qs = DuplicatePair.objects.filter(
        Q(a__isnull=True) | Q(a__in=visible),
        Q(b__isnull=True) | Q(b__in=visible),
    ).exclude(a__isnull=True, b__isnull=True)
    if status:
        qs = qs.filter(status=status)
    if min_score is not None:
        qs = qs.filter(score__gte=min_score)
    if reason:
        qs = (
            qs.filter(reasons__contains=reason)
            if _json_contains_supported()
            else qs.filter(reasons__icontains=f'"{reason}"')
        )
    return qs.select_related("a", "b", "a__owner", "b__owner").order_by(
        "-score", "-created_at", "id"
    )


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def duplicate_get(*, user: Any, pk: Any) -> Any:
    """One pair visible to `user` (see `duplicate_list`), or DuplicatePair.DoesNotExist."""
    return duplicate_list(user=user, status="").select_related("merge").get(pk=pk)
