"""Classes that act: playbooks turn a class into tasks; churn alerts reach the owner.

Both create tasks through activities.services.task_create with a `dedupe_key` naming the rule,
the customer and the period, so applying a playbook or raising alerts twice in a period never
creates a second task (the unique constraint on the key decides, even under a race). A churn
warning whose customer is no longer at risk is closed by the rescore that finds it
(`churn_alerts_close`).
"""

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from patron.activities import services as activities
from patron.activities.models import Task
from patron.audit import services as audit
from patron.customers.models import Customer
from patron.insights import labels
from patron.insights.models import CustomerScore, Playbook, ScoreRun

# Churn early warning: a customer of value whose risk crosses the threshold.
CHURN_RISK_THRESHOLD = 0.6
CHURN_MIN_CLV = 0.0
CHURN_KEY_PREFIX = "churn:"  # the dedupe key of a churn warning: churn:<customer>:<period>
CLOSE_BATCH = 1000  # churn warnings closed per UPDATE (and lock)
# Translated when a reason is written (`reason_text`), in the reader's language: translated
# here, at import, they would stay in whatever language was active then.
REASON_TEXT = {
    "gap_vs_usual": gettext_noop("purchase gap %(ratio).1fx longer than usual"),
    "long_inactive": gettext_noop("no purchase for %(days).0f days"),
    # A count's wording, by the count: (the member counted, the wording of n).
    "few_purchases": ("purchases", lambda n: ngettext("only %(purchases).0f purchase",
                                                      "only %(purchases).0f purchases", n)),
    "frequency_down": gettext_noop("buying %(pct).0f%% less often"),
    "spend_down": gettext_noop("spend down %(pct).0f%%"),
    "low_p_alive": gettext_noop("probability still active only %(p).0f%%"),
    "low_expected_purchases": gettext_noop("expected purchases next period only %(expected).1f"),
    "complaint": ("count", lambda n: ngettext("complained %(count).0f time, %(when)s",
                                              "complained %(count).0f times, most recently %(when)s", n)),
    "lost_contact": gettext_noop("unreachable for %(days).0f days"),
}


def reason_text(reason: dict) -> str:
    """A churn reason in the active language, e.g. "purchase gap 3.1x longer than usual"."""
    template = REASON_TEXT.get(reason.get("key", ""))
    if reason.get("key") == "frequency_down" and (reason.get("pct") or 0) >= 100:
        return _("no purchase lately, after buying regularly")  # not "buying 100% less often"
    if reason.get("key") == "gap_vs_usual" and reason.get("purchases") == 1 and reason.get("days") is not None:
        # One purchase has no gap of its own to compare with: the usual gap is other customers'.
        return _("no second purchase %(days).0f days after the first, %(ratio).1fx the usual time "
                 "between purchases") % reason
    if template is None:
        return reason.get("key", "")
    params = dict(reason)
    if "p" in params:
        params["p"] = 100 * params["p"]
    if reason.get("key") == "complaint" and reason.get("days") is not None:  # "today", not "0 days ago"
        params["when"] = labels.days_ago(float(reason["days"]))
    try:
        if isinstance(template, tuple):  # a count: "only 1 purchase", "only 3 purchases"
            counted, wording = template
            return wording(round(float(params[counted]))) % params
        return _(template) % params
    except (KeyError, TypeError, ValueError):
        return reason.get("key", "")


def reason_texts(reasons: list[dict], limit: int | None = None) -> list[str]:
    """The texts of a customer's churn reasons, the first `limit`: "only 1 purchase" is left out
    beside the gap after a single purchase, which says it already."""
    single = any(r.get("key") == "gap_vs_usual" and r.get("purchases") == 1 for r in reasons)
    kept = [r for r in reasons if not (single and r.get("key") == "few_purchases")]
    return [reason_text(r) for r in kept[:limit]]


def require_manager(user: Any) -> None:
    """Setting playbooks, applying them and starting a refresh are a manager's: the pages
    check this too; here, so that no other caller can skip it."""
    from patron.accounts import permissions
    from patron.insights import selectors

    if not selectors.may_manage(user):
        raise permissions.PermissionDenied("insights.manage")


def _period(cadence_days: int, today: dt.date) -> str:
    """The period a task belongs to: one per `cadence_days` window since a fixed epoch."""
    return str((today - dt.date(2000, 1, 1)).days // max(cadence_days, 1))


def _in_languages[T](items: Iterable[T], *, language: Callable[[T], str]) -> Iterator[T]:
    """The items, each handed over while its `language` is active. They come ordered by it, so
    the language is switched once per language, not once per item (a task's title at a time)."""
    for code, group in itertools.groupby(items, key=language):
        with translation.override(code):
            yield from group


def _in_owners_languages(scores: Iterable[CustomerScore], *, fallback: str) -> Iterator[CustomerScore]:
    """The scores, each handed over while its customer's owner's language is active: the owner
    reads the task written for it (see `User.text_language`; `fallback` is the organisation's
    language, for owners who have not used the pages yet). Ordered by the owner's language."""
    def language(score: CustomerScore) -> str:
        owner = score.customer.owner
        return (owner.language if owner is not None else "") or fallback

    return _in_languages(scores, language=language)


def _number(value: float) -> str:
    """A whole number as the active language writes it (11,764 in English and Chinese alike)."""
    return formats.number_format(round(value), use_l10n=True, force_grouping=True)


def _create_once(**kwargs: Any) -> bool:
    try:
        with transaction.atomic():
            activities.task_create(**kwargs)
        return True
    except IntegrityError:  # the same rule already made this task in this period
        return False


def playbook_apply(*, playbook: Playbook, user: Any, today: dt.date | None = None) -> int:
    """Create this period's follow-up task for every current customer of the playbook's class,
    except those whose task from this playbook is still open: the follow-up is still to do,
    and a second task for it would only pile up on the owner's list."""
    require_manager(user)
    today = today or user.organization.today()
    period = _period(playbook.cadence_days, today)
    # Only the customers the person applying the playbook may work on: a team manager's
    # playbook never creates tasks for another team's owners.
    scores = (CustomerScore.objects.current().filter(customer__in=Customer.objects.visible_to(user, "change"))
              .select_related("customer", "customer__owner").order_by("customer__owner__language", "pk"))
    scores = scores.filter(**({"classes__contains": [playbook.class_key]} if playbook.class_kind == "classes"
                              else {playbook.class_kind: playbook.class_key}))
    # And whose owners they may give tasks to (the same for the built-in roles; a role of an
    # administrator's may reach further in customers than in tasks).
    from patron.accounts import permissions

    if (givable := permissions.reach(user, "tasks.add", prefix="customer__")) is not None:
        scores = scores.filter(givable)
    ours = Task.objects.filter(dedupe_key__startswith=f"pb:{playbook.pk}:")
    existing = set(ours.filter(dedupe_key__endswith=f":{period}").values_list("dedupe_key", flat=True))
    still_open = set(ours.filter(status=Task.Status.OPEN).values_list("customer_id", flat=True))
    created = 0
    due = timezone.now() + dt.timedelta(days=playbook.due_in_days)
    # The owner reads the task, not who applies the playbook: in the owner's language.
    for score in _in_owners_languages(scores.iterator(chunk_size=2000), fallback=user.organization.language):
        customer = score.customer
        key = f"pb:{playbook.pk}:{customer.pk}:{period}"
        if key in existing or customer.pk in still_open or customer.owner is None:
            continue
        title = _("%(action)s: %(name)s") % {"action": playbook.get_action_display(), "name": customer.name}
        created += _create_once(
            user=user, owner=customer.owner, customer=customer, due_at=due, dedupe_key=key,
            channel=playbook.channel or customer.preferred_channel, title=title, notes=playbook.instructions,
        )
    Playbook.objects.filter(pk=playbook.pk).update(last_applied_at=timezone.now())
    return created


def churn_alerts_raise(*, user: Any, threshold: float = CHURN_RISK_THRESHOLD, min_clv: float = CHURN_MIN_CLV,
                       today: dt.date | None = None, customer_ids: list[Any] | None = None) -> int:
    """A task for the owner of every valuable customer who has just crossed the risk threshold.

    "Of value": in the high value tier and worth at least `min_clv`; customers already counted
    as churned belong to the win-back playbook, not to an early warning. "Just crossed": below
    the threshold in the previous snapshot (or first scored now). At most one alert per
    customer per 30-day period; the most valuable first (among the owners of one language).
    `customer_ids` limits it to those customers (after a triggered rescore).
    """
    today = today or user.organization.today()
    period = _period(30, today)
    at_risk = (CustomerScore.objects.current().filter(churn_risk__gte=threshold, clv__gte=min_clv,
                                                      value_tier="high")
               .exclude(lifecycle="churned")
               .exclude(Exists(CustomerScore.objects.filter(
                   run__in=ScoreRun.objects.holding_snapshots(),
                   customer=OuterRef("customer"), churn_risk__gte=threshold,
                   as_of__gte=today - dt.timedelta(days=30)).exclude(pk=OuterRef("pk"))))
               .select_related("customer", "customer__owner").order_by("customer__owner__language", "-clv"))
    if customer_ids is not None:
        at_risk = at_risk.filter(customer_id__in=customer_ids)
    created = 0
    # A job raises it; the owner reads it: in the owner's language, numbers as it writes them.
    for score in _in_owners_languages(at_risk.iterator(chunk_size=2000), fallback=user.organization.language):
        customer = score.customer
        if customer.owner is None:
            continue
        reasons = pgettext("list separator", "; ").join(reason_texts(score.churn_reasons, 3))
        title = _("Churn risk %(risk).0f%%: %(name)s") % {"risk": 100 * score.churn_risk, "name": customer.name}
        notes = _("Why: %(reasons)s. Value at stake (12-month CLV): %(clv)s.") % {
            "reasons": reasons or _("declining activity"), "clv": _number(score.clv or 0)}
        created += _create_once(
            user=user, owner=customer.owner, customer=customer, dedupe_key=f"{CHURN_KEY_PREFIX}{customer.pk}:{period}",
            due_at=timezone.now() + dt.timedelta(days=2), channel=customer.preferred_channel,
            title=title, notes=notes,
        )
    return created


def churn_alerts_close(*, user: Any, threshold: float = CHURN_RISK_THRESHOLD,
                       customer_ids: list[Any] | None = None) -> int:
    """Close the open churn warnings whose customer's current risk is now below the threshold
    (a purchase, or a complaint's weight fading), with a note saying why; return how many.

    Called after every rescore (a full refresh, `customer_ids` after a triggered one), so a
    warning never outlives its reason on the owner's list. Idempotent: a closed warning is
    not open any more. Only the warnings Patron raised (their dedupe key), never a task a
    person wrote; a customer who is now churned keeps theirs: still at risk, just further on.
    Its cost is a query over the open warnings, then three statements per `CLOSE_BATCH` of
    them, never one per customer. Closed as cancelled (nobody did it), audited per task."""
    current = CustomerScore.objects.current().filter(customer=OuterRef("customer_id"))
    warnings = (Task.objects.filter(status=Task.Status.OPEN, dedupe_key__startswith=CHURN_KEY_PREFIX)
                .annotate(risk=Subquery(current.values("churn_risk")[:1]),
                          scored_on=Subquery(current.values("as_of")[:1]),
                          silence=Subquery(current.values("days_since_last")[:1]),
                          stage=Subquery(current.values("lifecycle")[:1]))
                .filter(risk__lt=threshold).exclude(stage="churned"))
    if customer_ids is not None:
        warnings = warnings.filter(customer_id__in=customer_ids)
    rows = warnings.order_by("owner__language", "pk").values(
        "pk", "notes", "created_at", "risk", "scored_on", "silence", "owner__language")
    language = user.organization.language
    closed, batch = 0, []
    for row in _in_languages(rows.iterator(chunk_size=CLOSE_BATCH),
                             language=lambda r: r["owner__language"] or language):
        batch.append((row, _closing_note(row, threshold=threshold)))
        if len(batch) == CLOSE_BATCH:
            closed += _close(batch, user=user)
            batch = []
    return closed + (_close(batch, user=user) if batch else 0)


def _closing_note(row: dict, *, threshold: float) -> str:
    """Why Patron closed a churn warning, in the active language: after a purchase made since
    the warning, when there was one (the score's last purchase is on or after its day)."""
    risk, limit = round(100 * row["risk"]), round(100 * threshold)
    bought = None
    if row["silence"] is not None and row["scored_on"] is not None:
        bought = row["scored_on"] - dt.timedelta(days=round(row["silence"]))
    if bought is not None and bought >= timezone.localdate(row["created_at"]):
        return _("Closed by Patron: the churn risk fell to %(risk)s%% after a purchase on %(date)s, below the "
                 "%(limit)s%% that raises a warning.") % {
            "risk": risk, "limit": limit, "date": formats.date_format(bought, "SHORT_DATE_FORMAT")}
    return _("Closed by Patron: the churn risk fell to %(risk)s%%, below the %(limit)s%% that raises a "
             "warning.") % {"risk": risk, "limit": limit}


def _close(batch: list[tuple[dict, str]], *, user: Any) -> int:
    """Cancel the warnings of `batch` still open, each with its note, and audit each change."""
    notes = {row["pk"]: (row["notes"] + "\n\n" + note).strip() for row, note in batch}
    with transaction.atomic():
        # Locked and read again: one its owner completed meanwhile stays completed.
        tasks = list(Task.objects.select_for_update().filter(pk__in=list(notes), status=Task.Status.OPEN)
                     .only("pk", "organization_id", "title", "notes", "status", "version"))
        now = timezone.now()
        for task in tasks:
            task.status, task.notes, task.updated_at = Task.Status.CANCELLED, notes[task.pk], now
            task.version = F("version") + 1
        Task.objects.bulk_update(tasks, ["status", "notes", "updated_at", "version"])
        previous = {row["pk"]: row["notes"] for row, _note in batch}
        audit.record_changes("task.cancelled", changed=[
            (task, {"status": (Task.Status.OPEN, Task.Status.CANCELLED), "notes": (previous[task.pk], notes[task.pk])})
            for task in tasks], user=user, data={"reason": "churn_risk_fell"})
    return len(tasks)
