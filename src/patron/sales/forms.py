"""Forms of the lead and opportunity pages: they parse input, the services decide."""

from typing import Any

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from patron.activities.models import Interaction
from patron.common import masking, standardize
from patron.customers.models import Customer
from patron.sales import selectors
from patron.sales.models import Lead, Opportunity, Pipeline, Stage
from patron.sales.services import LEAD_FIELDS, NOT_NEGATIVE


class CursorField(forms.CharField):
    """An opaque keyset cursor; anything that does not decode is a validation error (400)."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if value:
            try:
                selectors.cursor_decode(value)
            except ValueError:
                raise forms.ValidationError(_("This page link is not valid.")) from None
        return value


class LeadFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Lead.Status.choices]
    )
    cursor = CursorField(required=False, widget=forms.HiddenInput)


class LeadForm(forms.Form):
    """The editable fields of a lead.

    Sensitive fields are never pre-filled with their clear value (that would be an unaudited
    reveal): on edit a blank sensitive field means "unchanged" and shows the masked value as
    its placeholder.
    """

    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, lead: Lead | None = None, user: Any = None, **kwargs: Any
    ) -> None:
        if lead is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{f: getattr(lead, f) for f in LEAD_FIELDS if f not in Lead.sensitive_fields},
                "expected_version": lead.version,
            }
        super().__init__(*args, **kwargs)
        self.lead, self.user = lead, user
        if lead is not None:
            for name in Lead.sensitive_fields:
                masked = masking.present(user, lead, name)
                if masked:
                    self.fields[name].widget.attrs["placeholder"] = masked
                    self.fields[name].help_text = _("Leave blank to keep the current value.")

    def clean_phone(self) -> str:
        # Checked here too, so a bad number is a field error next to the field.
        phone = self.cleaned_data["phone"]
        region = self.user.organization.phone_region if self.user is not None else "CN"
        return standardize.normalize_phone(phone, region=region) if phone else phone

    def to_data(self) -> dict[str, Any]:
        data = {f: self.cleaned_data[f] for f in LEAD_FIELDS}
        if self.lead is not None:
            data = {k: v for k, v in data.items() if not (k in Lead.sensitive_fields and not v)}
        return data


LeadForm.base_fields = {
    **forms.fields_for_model(Lead, fields=LEAD_FIELDS),
    **LeadForm.base_fields,
}
LeadForm.base_fields["phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})
LeadForm.base_fields["email"].widget.attrs.update({"autocomplete": "email"})
for _name in ("name", "company_name", "phone", "email"):
    # The duplicate check (htmx) listens to these fields while the user types.
    LeadForm.base_fields[_name].widget.attrs["class"] = "dup-check"


class LeadDisqualifyForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class LeadConvertForm(forms.Form):
    customer = forms.ModelChoiceField(
        label=_("Attach to an existing customer"),
        queryset=Customer.objects.none(),
        required=False,
        empty_label=_("Create a new customer"),
    )
    create_opportunity = forms.BooleanField(
        label=_("Create an opportunity"), required=False, initial=True
    )
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=0, required=False,
        error_messages={"min_value": NOT_NEGATIVE["amount"]},
    )
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none())

    def __init__(self, *args: Any, customers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Querysets are built here, inside the request's organisation scope, never at import.
        self.fields["pipeline"].queryset = selectors.pipeline_list()
        self.fields["pipeline"].initial = selectors.pipeline_default()
        if customers is not None:
            self.fields["customer"].queryset = customers


class LeadDuplicateForm(forms.Form):
    phone = forms.CharField(required=False, max_length=32)
    email = forms.CharField(required=False, max_length=254)
    name = forms.CharField(required=False, max_length=200)
    company_name = forms.CharField(required=False, max_length=200)
    lead = forms.UUIDField(required=False)


class OpportunityFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"),
        queryset=Pipeline.objects.none(),
        required=False,
        empty_label=_("Any pipeline"),
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("Any outcome")), *Stage.Outcome.choices]
    )
    cursor = CursorField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = selectors.pipeline_list()


class BoardForm(forms.Form):
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = selectors.pipeline_list()


OPPORTUNITY_EDIT_FIELDS = ["name", "amount", "expected_close", "source", "competitor"]


class OpportunityForm(forms.Form):
    """Create (with customer and pipeline) or edit (the deal's own fields) an opportunity."""

    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    pipeline = forms.ModelChoiceField(label=_("Pipeline"), queryset=Pipeline.objects.none())
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, user: Any, opportunity: Opportunity | None = None, **kwargs: Any
    ) -> None:
        if opportunity is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{f: getattr(opportunity, f) for f in OPPORTUNITY_EDIT_FIELDS},
                "expected_version": opportunity.version,
            }
        super().__init__(*args, **kwargs)
        if opportunity is not None:
            del self.fields["customer"], self.fields["pipeline"]
        else:
            self.fields["customer"].queryset = Customer.objects.visible_to(user).order_by("name")
            self.fields["pipeline"].queryset = selectors.pipeline_list()
            self.fields["pipeline"].initial = selectors.pipeline_default()

    def to_data(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in OPPORTUNITY_EDIT_FIELDS}


OpportunityForm.base_fields = {
    **forms.fields_for_model(Opportunity, fields=OPPORTUNITY_EDIT_FIELDS),
    **OpportunityForm.base_fields,
}
OpportunityForm.base_fields["expected_close"].widget = forms.DateInput(attrs={"type": "date"})

# The services' rule, checked here too so that the browser (min) and the field say it first.
for _form, _name in ((LeadForm, "estimated_value"), (OpportunityForm, "amount")):
    _form.base_fields[_name].validators.append(MinValueValidator(0, message=NOT_NEGATIVE[_name]))
    _form.base_fields[_name].widget.attrs["min"] = 0


class OpportunityMoveForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none())
    lost_reason = forms.CharField(label=_("Reason lost"), max_length=200, required=False)
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = opportunity.pipeline.stages.order_by("position")
        self.fields["stage"].initial = opportunity.stage_id

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        stage = data.get("stage")
        if (
            stage is not None
            and stage.outcome == Stage.Outcome.LOST
            and not data.get("lost_reason", "").strip()
        ):
            self.add_error("lost_reason", _("Say why the deal was lost."))
        return data


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Interaction.Kind.choices)
    direction = forms.ChoiceField(label=_("Direction"), choices=Interaction.Direction.choices)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Interaction.Outcome.choices, required=False,
        help_text=_("A complaint or lost contact updates the customer's churn risk at once."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
