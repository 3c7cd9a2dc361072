from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.common.models import LargeOwnedModel, OwnedModel, TenantModel, search_text_of
from patron.customers.models import Source


class Pipeline(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta(TenantModel.Meta):
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="pipeline_org_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TenantModel):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"))
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=5, choices=Outcome.choices, default=Outcome.OPEN
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pipeline", "position"], name="stage_pipeline_position_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Lead(LargeOwnedModel):
    """A sales lead (销售线索): someone who may buy, not yet a customer."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        WORKING = "working", _("Working")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    permission_resource = "leads"
    sensitive_fields = ("phone", "email", "wechat")

    number = models.CharField(_("number"), max_length=20, editable=False)
    name = models.CharField(_("name"), max_length=200)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.OTHER)
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.NEW)
    disqualify_reason = models.CharField(_("reason for disqualifying"), max_length=200, blank=True)
    estimated_value = models.DecimalField(
        _("estimated value"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    converted_customer = models.ForeignKey(
        "customers.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    pooled_at = models.DateTimeField(_("in public pool since"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    search_text = models.TextField(editable=False, default="")

    class Meta(TenantModel.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="lead_org_number_uniq")
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="lead_recent_idx"),
            models.Index(fields=["organization", "owner", "-created_at"], name="lead_owner_idx"),
            models.Index(fields=["organization", "owner_team", "-created_at"], name="lead_team_idx"),
            models.Index(fields=["phone"], name="lead_phone_idx"),  # by the value: see customers' 0010
        ]

    def __str__(self) -> str:
        return self.name

    build_search_text = staticmethod(search_text_of)

    derived_fields_on_save = (build_search_text,)


class Opportunity(OwnedModel):
    """A deal (商机) moving through a pipeline's stages."""

    permission_resource = "opportunities"

    number = models.CharField(_("number"), max_length=20, editable=False)
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="opportunities",
        verbose_name=_("customer"),
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, verbose_name=_("stage"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=5, choices=Stage.Outcome.choices, default=Stage.Outcome.OPEN
    )
    lost_reason = models.CharField(_("reason lost"), max_length=200, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    stage_changed_at = models.DateTimeField(_("in stage since"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.OTHER)
    competitor = models.CharField(_("competitor"), max_length=120, blank=True)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="opp_org_number_uniq")
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="opp_recent_idx"),
            models.Index(fields=["organization", "owner", "outcome"], name="opp_owner_idx"),
            models.Index(fields=["organization", "owner_team", "outcome"], name="opp_team_idx"),
            models.Index(fields=["organization", "customer"], name="opp_customer_idx"),
            models.Index(fields=["organization", "pipeline", "stage"], name="opp_stage_idx"),
        ]

    def __str__(self) -> str:
        return self.name
