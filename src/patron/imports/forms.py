from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.accounts.models import Team
from patron.imports.mapping import TARGETS
from patron.imports.models import ImportJob
from patron.imports.readers import MAX_HEADER_ROW, Table

KEY_LABELS = {
    "": _("Phone or e-mail (matching)"),
    "phone": _("Phone"),
    "email": _("E-mail"),
    "number": _("Customer number"),
    "sku": _("SKU"),
    "external_ref": _("Order reference"),
}
KEY_CHOICES = {
    "customers": ["", "phone", "email", "number"],
    "leads": ["", "phone", "email", "number"],
    "products": ["sku"],
    "orders": ["external_ref", ""],
}


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What to import"), choices=ImportJob.Kind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8 or GBK; comma, semicolon or tab), XLSX or vCard."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.vcf"}),
    )

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        """`kinds`: those the user may import (all when None)."""
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [c for c in ImportJob.Kind.choices if c[0] in kinds]


class FrameForm(forms.Form):
    """Where in the file the records are: the sheet of a workbook and the header's row."""

    sheet = forms.ChoiceField(label=_("Sheet"), required=False)
    header_row = forms.IntegerField(label=_("Column names are in row"), min_value=1, max_value=MAX_HEADER_ROW)

    def __init__(self, *args: Any, table: Table, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"sheet": table.sheet, "header_row": table.header_row})
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [(name, name) for name in table.sheets]
        if len(table.sheets) < 2:
            self.fields["sheet"].widget = forms.HiddenInput()


class MappingForm(forms.Form):
    """One choice per column of the file, plus how to match and who owns the records."""

    key_field = forms.ChoiceField(label=_("Match existing records on"), required=False)
    owner_rule = forms.ChoiceField(label=_("Owner of new records"), choices=ImportJob.OwnerRule.choices)
    owner_team = forms.ModelChoiceField(
        label=_("Team to share them among"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("For “a team's members, in turn”: each new record goes to the next member."),
    )
    day_first = forms.BooleanField(label=_("Dates like 05/03/2024 are day first (5 March)"), required=False)

    def __init__(self, *args: Any, job: ImportJob, headers: list[str], **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "key_field": job.key_field,
                "owner_rule": job.owner_rule,
                "owner_team": job.owner_team_id,
                "day_first": job.day_first,
                **{f"column_{i}": f for i, f in enumerate(job.mapping)},
            },
        )
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.kind = job.kind
        choices = [("", _("— ignore —")), *((k, v[0]) for k, v in TARGETS[job.kind].items())]
        for i, header in enumerate(headers):
            self.fields[f"column_{i}"] = forms.ChoiceField(
                label=header or _("Column %(n)s") % {"n": i + 1}, choices=choices, required=False
            )
        self.fields["key_field"].choices = [(k, KEY_LABELS[k]) for k in KEY_CHOICES[job.kind]]
        self.fields["owner_team"].queryset = Team.objects.filter(organization_id=job.organization_id).order_by("name")

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{i}"] for i in range(len(self.headers))]

    def columns(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}") or "" for i in range(len(self.headers))]


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], required=False)
    sensitive = forms.BooleanField(label=_("Include sensitive fields in clear"), required=False)
