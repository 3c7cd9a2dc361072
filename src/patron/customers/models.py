from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from patron.common.models import LargeOwnedModel, TenantModel, search_text_of
from patron.common.tenancy import OwnedManager


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    VISIT = "visit", _("Visit")


class Source(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    WEBSITE = "website", _("Website")
    EVENT = "event", _("Event or trade show")
    COLD_CALL = "cold_call", _("Cold call")
    ADVERTISING = "advertising", _("Advertising")
    SOCIAL = "social", _("Social media")
    PARTNER = "partner", _("Partner")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta(TenantModel.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_org_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Customer(LargeOwnedModel):
    """A customer (客户): a person or a company. Owner-less customers sit in the public pool."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    permission_resource = "customers"
    sensitive_fields = ("phone", "email", "id_number", "birthday", "address", "wechat")

    number = models.CharField(_("number"), max_length=20, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(_("name"), max_length=200)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)  # E.164
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    city = models.CharField(_("city"), max_length=60, blank=True)
    industry = models.CharField(_("industry"), max_length=60, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    consent_email = models.BooleanField(_("agrees to e-mail"), default=False)
    consent_sms = models.BooleanField(_("agrees to SMS"), default=False)
    consent_phone = models.BooleanField(_("agrees to calls"), default=True)
    consent_updated_at = models.DateTimeField(_("consent updated"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    # Public pool (公海): an owner-less customer has `pooled_at`; a later issue adds the claim
    # and recycle rules, which read `last_contacted_at`.
    pooled_at = models.DateTimeField(_("in public pool since"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    last_ordered_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    is_archived = models.BooleanField(_("archived"), default=False)
    # Lower-cased name, company, phone digits and e-mail, indexed for substring search
    # (a trigram GIN index on PostgreSQL), maintained by the services.
    search_text = models.TextField(editable=False, default="")

    class Meta(TenantModel.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="customer_org_number_uniq")
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="customer_recent_idx"),
            models.Index(
                fields=["organization", "owner", "-created_at", "-id"], name="customer_owner_idx"
            ),
            models.Index(
                fields=["organization", "owner_team", "-created_at", "-id"],
                name="customer_team_idx",
            ),
            # Phone and e-mail lookups (duplicate checks, merges) by the value alone: without the
            # organisation's id in every entry these indexes are a third of the size, and an
            # import, whose rows land at random places in them, writes a third fewer pages
            # (see migration 0010). Lookups still filter by organisation.
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["email"], name="customer_email_idx"),
            # The list's sort by last purchase, recent first and never bought last: DESC NULLS
            # LAST on PostgreSQL (migration 0003), where SQLite's DESC puts NULLs last anyway
            # (0009). The name sort's index is PostgreSQL's only: see 0009.
            models.Index(fields=["organization", "-last_ordered_at", "-id"], name="customer_lastorder_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    build_search_text = staticmethod(search_text_of)

    derived_fields_on_save = (build_search_text,)


class Contact(TenantModel):
    """A person at a company customer (联系人); seen by whoever sees the company."""

    permission_resource = "customers"
    visibility_paths = ("customer",)
    sensitive_fields = ("phone", "email", "wechat")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat ID"), max_length=64, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    # The number of the customer a merge kept these details from ("from C000458" in the
    # reader's language); blank for a contact entered as such.
    kept_from = models.CharField(_("kept from customer"), max_length=20, blank=True)

    objects = OwnedManager()

    class Meta(TenantModel.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["organization", "customer"], name="contact_customer_idx")]

    def __str__(self) -> str:
        return self.name


# --- Duplicates and merges (issue 6) ------------------------------------------------------


class DuplicatePair(TenantModel):
    """Two customers that are likely the same, waiting in the review queue (查重).

    `a` and `b` are ordered by primary key so each pair exists once. A merged pair keeps its
    row (the retired side becomes null) so the queue and the merge record stay linked.
    """

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("a duplicate pair not yet decided", "Open")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not a duplicate")

    a = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, related_name="+",
        verbose_name=_("customer A"),
    )
    b = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, related_name="+",
        verbose_name=_("customer B"),
    )
    score = models.FloatField(_("score"))  # 0-1, see customers.dedupe.score_pairs
    reasons = models.JSONField(_("reasons"), default=list)  # ["same_phone", ...]
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    merge = models.ForeignKey(
        "customers.MergeRecord", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "a", "b"], name="duplicatepair_org_ab_uniq"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "status", "-score"], name="duplicatepair_queue_idx"
            ),
            models.Index(fields=["organization", "b"], name="duplicatepair_b_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.a_id} ~ {self.b_id}"


class MergeRecord(TenantModel):
    """What a merge did, precisely enough to undo it.

    `snapshot` holds every field of the retired customer, its tags and the queue pairs closed
    with it; `moved` the ids of the rows re-pointed to the survivor, by kind; `filled` the
    survivor's blank fields filled from the duplicate, as [old, new].
    """

    survivor = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("survivor")
    )
    duplicate_id = models.UUIDField(_("retired customer"))
    snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=dict)
    filled = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantModel.Meta):
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        indexes = [
            models.Index(fields=["organization", "survivor"], name="mergerecord_survivor_idx")
        ]

    def __str__(self) -> str:
        return f"{self.duplicate_id} -> {self.survivor_id}"


# --- Saved views of the customer list (issue 4) ---------------------------------------------


class SavedView(TenantModel):
    """A user's named set of customer-list filters, kept as the list page's query string."""

    owner = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=1000, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "owner", "name"], name="savedview_org_owner_name_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name
