"""Dated snapshots of the customer science, written by the value refresh.

Every refresh writes one `CustomerScore` per customer, keeping the earlier ones, so "since
when, and why, is this customer at risk?" is a query over history. A `ScoreRun` keeps the
fitted parameters and diagnostics, so a single customer can be rescored against the last fit
when something happens to it (a triggered update).

Which snapshots are current is said once, on the run: the organisation's current run is the
last refresh that finished, and its rows are the current ones, except those a triggered
rescore has since replaced (`replaced`). A refresh thus switches a million customers to their
new scores by flipping one run, instead of rewriting every old row (an UPDATE that took 25-36 s
at a million customers on PostgreSQL); until the flip, readers see the previous run whole.
"""

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Subquery
from django.utils.translation import gettext_lazy as _

from patron.common.fields import PlainJSONField
from patron.common.models import OwnedModel, TenantModel, organization_key
from patron.common.tenancy import OwnedQuerySet, TenantManager, TenantQuerySet


class ScoreRunQuerySet(TenantQuerySet):
    def holding_snapshots(self) -> list:
        """The keys of the runs whose snapshots may still be stored (not yet dropped by
        `services.history_prune`). Snapshots are looked up by run first (see CustomerScore's
        indexes): a customer's history is one index seek per run held."""
        return list(self.filter(snapshots_dropped=False).values_list("pk", flat=True))


class ScoreRun(TenantModel):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"))
    model_version = models.CharField(max_length=40)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent, for the progress bar
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    n_customers = models.PositiveIntegerField(default=0)
    # Fitted parameters, log-likelihoods, diagnostics and timings (see analytics.pipeline).
    report = models.JSONField(default=dict, blank=True)
    # The fitted estimators (pickled), so one customer can be rescored between refreshes.
    fitted_models = models.BinaryField(default=b"", editable=False)
    error = models.TextField(blank=True)
    # The organisation's current refresh: its snapshots are the customers' current scores.
    is_current = models.BooleanField(default=False, editable=False)
    # Its snapshots were deleted (older than the history kept, or the run failed).
    snapshots_dropped = models.BooleanField(default=False, editable=False)

    objects = TenantManager.from_queryset(ScoreRunQuerySet)()

    class Meta(TenantModel.Meta):
        verbose_name = _("value refresh")
        verbose_name_plural = _("value refreshes")
        indexes = [models.Index(fields=["organization", "-as_of"], name="scorerun_recent_idx")]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=models.Q(is_current=True),
                                    name="scorerun_one_current")
        ]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.get_status_display()})"


class ScoreRunDigest(TenantModel):
    """What later refreshes read of a run, kept beside it as one Parquet file: each customer's
    RFM segment and 90-day forecast as the refresh wrote them (`insights.readers.DIGEST_COLUMNS`).

    The next refresh's movement between segments and the forecast check 90 days on read it
    instead of a million snapshot rows, which cost the server 2.4-2.9 s each at a million
    customers (it reads the wide rows whole) beside the refresh's own insert. Triggered
    rescores leave it as it is: its readers take the few rescored customers from their rows
    (`readers.read_run_digest`). It goes with its run's snapshots (`services.history_prune`).
    """

    run = models.OneToOneField(ScoreRun, on_delete=models.CASCADE, related_name="digest", editable=False)
    frame = models.BinaryField(editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("value refresh digest")
        verbose_name_plural = _("value refresh digests")


class ScoreQuerySet(OwnedQuerySet):
    def current(self) -> "ScoreQuerySet":
        """The customers' current snapshots: the current run's rows no rescore has replaced."""
        current_run = ScoreRun.objects.filter(is_current=True).values("pk")[:1]
        return self.filter(run=Subquery(current_run), replaced=False)


class CustomerScore(TenantModel):
    """One customer's classes and value as of a date. Seen by whoever sees the customer."""

    permission_resource = "customers"
    visibility_paths = ("customer",)

    # A refresh inserts a million rows here at once, and every index and constraint costs time
    # on each of them. The organisation, the run and the customer need no index of their own:
    # every query names the run, which the indexes below begin with (or the organisation, then
    # the run). Nor do these derived rows get foreign-key constraints in the database (on
    # PostgreSQL their deferred checks took 25 s of a million-customer refresh's commit): every
    # row is made from a customer just read, deleting a customer or an organisation still
    # deletes its scores (a receiver, a cascade), and scores are only ever reached through
    # their customer, so a row left by a customer deleted during a refresh is never shown and
    # goes with its run.
    organization = organization_key(db_index=False, db_constraint=False)
    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="scores", null=True, blank=True,
                            db_index=False, db_constraint=False)
    # Deleting a customer deletes its snapshots by run (`receivers`): Django's cascade would
    # look them up by customer alone, which no index serves.
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="scores",
                                 db_index=False, db_constraint=False)
    as_of = models.DateField(_("as of"))
    # A triggered rescore wrote a newer row for this customer in the same run (kept as history).
    replaced = models.BooleanField(default=False)
    # The customer's own creation time, copied at each refresh (it never changes), so that a
    # list of one class, newest first, is read in order from the class's index below. Through
    # the customer, PostgreSQL walked the newest customers and probed each one's score: the
    # newest are seldom of a valuable class, so it probed 156,000 to fill a page (1.6 s).
    # Null in snapshots written before it existed.
    customer_created_at = models.DateTimeField(null=True, editable=False)
    n_purchases = models.PositiveIntegerField(_("purchases"), default=0)
    total_spend = models.FloatField(_("total spend"), default=0)
    days_since_last = models.FloatField(_("days since last purchase"), null=True)
    r_score = models.PositiveSmallIntegerField(_("R score"), null=True)
    f_score = models.PositiveSmallIntegerField(_("F score"), null=True)
    m_score = models.PositiveSmallIntegerField(_("M score"), null=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=40, blank=True)
    class8 = models.CharField(_("value class"), max_length=40, blank=True)
    frequency_tier = models.CharField(_("frequency tier"), max_length=10, blank=True)
    value_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    lifecycle = models.CharField(_("lifecycle stage"), max_length=20, blank=True)
    classes = models.JSONField(_("classes"), default=list, blank=True)  # the ten-class keys
    cluster = models.SmallIntegerField(_("cluster"), null=True)
    cluster_label = models.CharField(_("cluster"), max_length=120, blank=True)
    p_alive = models.FloatField(_("probability active"), null=True)
    expected_purchases = models.FloatField(_("expected purchases (90 days)"), null=True)
    expected_spend = models.FloatField(_("expected spend per purchase"), null=True)
    clv = models.FloatField(_("lifetime value (12 months)"), null=True)
    churn_risk = models.FloatField(_("churn risk"), null=True)
    # Read whole, never queried into (unlike `classes`): kept as JSON text (see PlainJSONField).
    churn_reasons = PlainJSONField(_("churn reasons"), default=list, blank=True)
    recommendations = PlainJSONField(_("recommended products"), default=list, blank=True)

    objects = TenantManager.from_queryset(ScoreQuerySet)()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.customer_created_at is None:  # a snapshot made on its own (refreshes write it)
            customers = self._meta.get_field("customer").related_model._base_manager
            self.customer_created_at = (customers.filter(pk=self.customer_id)
                                        .values_list("created_at", flat=True).first())
        super().save(*args, **kwargs)

    class Meta(TenantModel.Meta):
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        # Few indexes, since every one costs time on each of a refresh's million rows. The
        # customer's: its current row (run = current) and its history. The RFM segment's, value
        # class's and lifecycle stage's: list filters, segments and playbooks. The at-risk list
        # reads customers at risk by CLV: without its own index it
        # walks past every valuable customer who is not at risk (70k rows at 1M); the condition
        # holds for any threshold at or above the default (0.6). Nothing else reads the scores
        # by value but the CLV sort of the lists: dashboards read the run's rollups. A run's
        # rescored customers: a later refresh reads the run's digest and overlays these few.
        indexes = [
            # The run first, then the customer: a refresh's rows all go to the end of this
            # index, in customer order, instead of one beside each customer's older rows,
            # which rewrote every page of a ten-million-entry index at each refresh (SQLite,
            # a million customers: the insert took 13.5 s into an empty table, 38.8 s with ten
            # earlier runs kept). A customer's rows are thus looked up by run: the current
            # run, or the runs still holding snapshots (`ScoreRun.objects.holding_snapshots`).
            models.Index(fields=["run", "customer"], name="score_run_customer_idx"),
            # The customer list and segments filtered by a class read the class's customers from
            # these alone, newest first (covering, `replaced` included: SQLite reads the row for
            # a column of the partial index's condition otherwise). Without them, SQLite read
            # every snapshot of the run for each such page (2-3 s at a million).
            models.Index(fields=["run", "rfm_segment", "organization", "customer_created_at", "customer", "replaced"],
                         name="score_run_rfm_idx", condition=models.Q(replaced=False)),
            models.Index(fields=["run", "class8", "organization", "customer_created_at", "customer", "replaced"],
                         name="score_run_class8_idx", condition=models.Q(replaced=False)),
            models.Index(fields=["run", "lifecycle", "organization", "customer_created_at", "customer", "replaced"],
                         name="score_run_lifecycle_idx", condition=models.Q(replaced=False)),
            models.Index(
                fields=["organization", "run", "-clv"], name="score_run_at_risk_idx",
                condition=models.Q(replaced=False, churn_risk__gte=0.6) & ~models.Q(lifecycle="churned"),
            ),
            models.Index(fields=["run", "customer"], name="score_run_rescored_idx", condition=models.Q(replaced=True)),
            # The customer list and the API sorted by CLV read the run's customers in that
            # order, the customer breaking ties, and stop at a page (`customers.selectors.
            # score_sort`): sorting every customer one may see took 1-2.5 s at a million.
            models.Index(fields=["run", "clv", "customer"], name="score_run_clv_idx",
                         condition=models.Q(replaced=False, clv__gte=0)),
        ]


class Playbook(TenantModel):
    """What to do with the customers of one class: the follow-up that turns a class into tasks."""

    class ClassKind(models.TextChoices):
        RFM_SEGMENT = "rfm_segment", _("RFM segment")
        CLASS8 = "class8", _("Value class (eight classes)")
        CLASS10 = "classes", _("Customer class (ten classes)")
        LIFECYCLE = "lifecycle", _("Lifecycle stage")

    class Action(models.TextChoices):
        VIP_SERVICE = "vip_service", _("VIP service and a dedicated manager")
        MEMBER_COUPON = "member_coupon", _("Member coupon")
        NURTURE = "nurture", _("Nurture with new-product news")
        FIRST_PURCHASE = "first_purchase", _("First-purchase offer")
        WIN_BACK = "win_back", _("Win-back call")
        CALL_BACK = "call_back", _("Regular call-back")

    name = models.CharField(_("name"), max_length=120)
    class_kind = models.CharField(_("applies to"), max_length=20, choices=ClassKind.choices)
    class_key = models.CharField(_("class"), max_length=40)
    action = models.CharField(_("follow-up"), max_length=20, choices=Action.choices)
    # Empty means the customer's preferred channel.
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    # Within a year: a follow-up further off is not a follow-up (and a due date thousands of
    # years ahead would not be a date).
    cadence_days = models.PositiveIntegerField(_("every (days)"), default=30,
                                               validators=[MinValueValidator(1), MaxValueValidator(365)])
    due_in_days = models.PositiveIntegerField(_("due within (days)"), default=3, validators=[MaxValueValidator(365)])
    instructions = models.TextField(_("instructions"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_applied_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        constraints = [
            models.UniqueConstraint(fields=["organization", "class_kind", "class_key", "action"],
                                    name="playbook_class_action_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Segment(OwnedModel):
    """A saved dynamic segment: conditions over customer fields and scores, re-evaluated."""

    permission_resource = "customers"

    name = models.CharField(_("name"), max_length=120)
    conditions = models.JSONField(_("conditions"), default=list)
    last_count = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name
