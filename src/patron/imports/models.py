"""Import jobs: one uploaded file, how to read it, and how far its import has come."""

import contextlib
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from patron.common.models import TenantModel


def in_language_of(job: Any) -> contextlib.AbstractContextManager:
    """Work for an import or export in the language of who asked for it (its reasons,
    headings and labels), rather than the organisation's, which a worker speaks."""
    return translation.override(job.language) if job.language else contextlib.nullcontext()


class ImportJob(TenantModel):
    """An import of one file. `rows_done` is the checkpoint: every batch commits its rows and
    the new `rows_done` in one transaction, so a killed run resumes after the last batch that
    landed and never writes a row twice."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        LEADS = "leads", _("Leads")
        PRODUCTS = "products", _("Products")
        ORDERS = "orders", _("Orders")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class OwnerRule(models.TextChoices):
        IMPORTER = "importer", _("The person importing")
        COLUMN = "column", _("The owner column")
        POOL = "pool", _("The public pool (no owner)")
        TEAM = "team", _("A team's members, in turn")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    source = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    # Where the records are: the sheet of a workbook, and the row holding the column names
    # (found at upload, below any title rows; the importer may correct both).
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    day_first = models.BooleanField(_("dates are day first"), default=False)
    mapping = models.JSONField(_("column mapping"), default=list, blank=True)
    key_field = models.CharField(_("match on"), max_length=30, blank=True)
    owner_rule = models.CharField(
        _("owner"), max_length=10, choices=OwnerRule.choices, default=OwnerRule.IMPORTER
    )
    # The language of who uploaded it: the background run writes its reasons and notes in it.
    language = models.CharField(_("language"), max_length=16, blank=True)
    # The team whose members new records go to, one each in turn (owner_rule "team").
    owner_team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_created = models.PositiveIntegerField(_("created"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rejected"), default=0)
    # Values rows were imported without (a birthday that is no date): the rows landed.
    values_left_out = models.PositiveIntegerField(_("values left out"), default=0)
    # The spreadsheet row number of the last row of the last committed batch.
    checkpoint = models.PositiveIntegerField(default=0)
    # Problems with the job as a whole (unreadable file, bad mapping); row problems are
    # ImportRejection rows, which can be millions and are written in bulk per batch.
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["organization", "-created_at"], name="import_recent_idx")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def rows_unchanged(self) -> int:
        """Rows that matched a record and changed nothing in it: every row done is created,
        updated, rejected or unchanged (no column of its own: it follows from the others)."""
        return max(0, self.rows_done - self.rows_created - self.rows_updated - self.rows_rejected)

    @property
    def progress(self) -> int:
        """Per cent done, for the progress bar."""
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.rows_done / self.rows_total)) if self.rows_total else 0


class ImportRejection(TenantModel):
    """A row that was not imported, or a value a row was imported without (`kept`): where it
    is in the file and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=255, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    kept = models.BooleanField(_("row imported without the value"), default=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        indexes = [models.Index(fields=["organization", "job", "row"], name="import_rejection_idx")]

    def __str__(self) -> str:
        return f"{self.row}: {self.reason}"


class ExportJob(TenantModel):
    """A customer list too long to export within a request, written to a file in the
    background; only who asked for it may download it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("by")
    )
    format = models.CharField(_("format"), max_length=4)
    include_sensitive = models.BooleanField(_("contact details in clear"), default=False)
    class Origin(models.TextChoices):
        LIST = "list", _("Customer list")
        API = "api", _("API")

    # The customer list's query string (its filters), read again by the job as its user with
    # the filters of where it was asked for: the list page's, or the API's.
    query = models.JSONField(default=dict, blank=True)
    origin = models.CharField(_("asked from"), max_length=4, choices=Origin.choices, default=Origin.LIST)
    # The language of who asked: the file's headings and labels are in it.
    language = models.CharField(_("language"), max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.format}"
