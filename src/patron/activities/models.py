from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.models import OwnedModel, TenantModel


class Interaction(OwnedModel):
    """One touch with a customer or lead (call, e-mail, visit ...), on their timeline.

    Visible to whoever sees its customer or its lead, and to its author.
    """

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        VISIT = "visit", _("Visit")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")

    class Direction(models.TextChoices):
        OUTBOUND = "out", _("Outbound")
        INBOUND = "in", _("Inbound")

    class Outcome(models.TextChoices):
        """What came of it. A complaint or lost contact is a churn signal the purchase history
        cannot show: logging one rescores the customer at once (see insights)."""

        NONE = "", _("Not recorded")
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        LOST_CONTACT = "lost_contact", _("Lost contact")
        COMPLAINT = "complaint", _("Complaint")

    SIGNAL_OUTCOMES = frozenset({Outcome.COMPLAINT, Outcome.LOST_CONTACT})

    permission_resource = "interactions"
    visibility_paths = ("", "customer", "lead")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.OUTBOUND
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.NONE, blank=True
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True,
        related_name="interactions",
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="interactions"
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="interactions",
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(
                fields=["organization", "customer", "-occurred_at"], name="interaction_customer_idx"
            ),
            models.Index(fields=["organization", "lead", "-occurred_at"], name="interaction_lead_idx"),
            models.Index(fields=["organization", "owner", "-occurred_at"], name="interaction_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()


class Task(OwnedModel):
    """Something to do by a due date; `owner` is the person it is assigned to."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    permission_resource = "tasks"

    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    due_at = models.DateTimeField(_("due"))
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    lead = models.ForeignKey(
        "sales.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    # Set by automations (playbooks, churn alerts) so a rule never creates the same task twice.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="task_org_dedupe_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "owner", "status", "due_at"], name="task_owner_idx"),
            models.Index(fields=["organization", "owner_team", "status", "due_at"], name="task_team_idx"),
            models.Index(fields=["organization", "customer", "-due_at"], name="task_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.title
