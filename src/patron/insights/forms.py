"""Forms of the insight pages: segment builder rows, playbooks, list filters."""

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from patron.insights import labels, selectors
from patron.insights.models import Playbook

CONDITION_ROWS = 6


class TaggedSelect(forms.Select):
    """A select whose options carry a data attribute, read by the segment builder's script."""

    def __init__(self, *, attribute: str, tags: dict[str, str]) -> None:
        super().__init__()
        self.attribute, self.tags = attribute, tags

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.tags:
            option["attrs"][self.attribute] = self.tags[str(value)]
        return option


class ConditionForm(forms.Form):
    """One row of the segment builder: field, comparison, value. A row without a field is ignored.

    Each field says its kind and each comparison the kinds it applies to, so that the page
    offers only the comparisons that fit the chosen field; the server checks it anyway."""

    field = forms.ChoiceField(
        label=_("Field"),
        required=False,
        choices=[("", "—")] + [(k, v[2]) for k, v in selectors.FIELDS.items()],
        widget=TaggedSelect(
            attribute="data-kind", tags={k: v[1] for k, v in selectors.FIELDS.items()}
        ),
    )
    op = forms.ChoiceField(
        label=_("Comparison"),
        required=False,
        choices=[("", "—"), *list(selectors.OPERATORS.items())],
        widget=TaggedSelect(
            attribute="data-kinds",
            tags={
                op: " ".join(k for k, ops in selectors.OPERATORS_OF.items() if op in ops)
                for op in selectors.OPERATORS
            },
        ),
    )
    value = forms.CharField(label=_("Value"), required=False, max_length=120)

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("field"):
            return data
        try:
            (cond,) = selectors.parse_conditions(
                [{"field": data["field"], "op": data.get("op"), "value": data.get("value")}]
            )
        except selectors.ConditionError as error:
            raise forms.ValidationError(str(error)) from error
        data["condition"] = cond
        return data

    def described_errors(self) -> list[str]:
        """The row's errors, each naming the field it is about ("Field: Select a valid choice…"):
        the row shows its three inputs without labels, so a bare message would not say which."""
        return [
            str(error) if name == NON_FIELD_ERRORS
            else _("%(field)s: %(error)s") % {"field": self.fields[name].label, "error": error}
            for name, errors in self.errors.items()
            for error in errors
        ]


ConditionFormSet = formset_factory(ConditionForm, extra=0, min_num=CONDITION_ROWS, max_num=selectors.MAX_CONDITIONS)


def condition_formset(data: Any = None, conditions: list[dict] | None = None) -> Any:
    # A stored class is its key (important_value); the form shows its name, which it reads back.
    initial = [
        {**c, "value": selectors.choice_name(c["field"], c.get("value"))} for c in conditions or []
    ]
    return ConditionFormSet(data, initial=initial + [{}] * max(0, CONDITION_ROWS - len(initial)), prefix="cond")


def conditions_of(formset: Any) -> list[selectors.Condition]:
    return [f.cleaned_data["condition"] for f in formset.forms if f.cleaned_data.get("condition")]


def stored(conditions: list[selectors.Condition]) -> list[dict]:
    return [{"field": c.field, "op": c.op, "value": c.value} for c in conditions]


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PlaybookForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    class_key = forms.ChoiceField(label=_("Class"))

    class Meta:
        model = Playbook
        fields = [
            "name",
            "class_kind",
            "class_key",
            "action",
            "channel",
            "cadence_days",
            "due_in_days",
            "instructions",
            "is_active",
        ]
        widgets = {"instructions": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from patron.customers.models import Channel

        self.fields["class_key"].choices = [
            (kind_label, labels.choices(kind)) for kind, kind_label in Playbook.ClassKind.choices
        ]
        self.fields["channel"] = forms.ChoiceField(
            label=_("Channel"),
            required=False,
            choices=[("", _("Customer's preferred channel")), *Channel.choices],
        )
        self.fields["cadence_days"].min_value = 1
        self.fields["due_in_days"].min_value = 0

    def clean(self) -> dict:
        data = super().clean()
        kind, key = data.get("class_kind"), data.get("class_key")
        if kind and key and key not in {k for k, _label in labels.choices(kind)}:
            self.add_error("class_key", _("This class does not belong to the chosen kind."))
        if data.get("cadence_days") is not None and data["cadence_days"] < 1:
            self.add_error("cadence_days", _("At least one day."))
        return data


class RiskFilterForm(forms.Form):
    # In percent, as the list and the customer page show risk.
    # Whole percents: "0.6" is refused rather than read as 0.6%; blank is the alert threshold.
    threshold = forms.IntegerField(label=_("Risk at least (%)"), required=False, min_value=0, max_value=100,
                                   widget=forms.NumberInput(attrs={"placeholder": f"{selectors.CHURN_RISK_THRESHOLD:.0%}"}))

    def threshold_value(self) -> float:
        value = self.cleaned_data.get("threshold") if self.is_valid() else None
        return selectors.CHURN_RISK_THRESHOLD if value is None else value / 100
