"""Forms of the customer pages: they parse input; the services decide and write."""

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patron.accounts.models import Team, User
from patron.activities.models import Interaction
from patron.common import bounds, masking, standardize
from patron.customers.models import Channel, Customer, Source, Tag
from patron.customers.selectors import score_sort
from patron.insights.models import Segment
from patron.web.paging import SortKey

# Classes of the current scores the list filters on (a key of each, see insights.labels).
SCORE_CLASSES = ("rfm_segment", "class8", "lifecycle")

# Every sort but the scores' is served by an index on PostgreSQL (read forwards or backwards):
# created by customer_recent_idx, name and last purchase by the indexes of migration 0003.
# SQLite has the last purchase's too (0009), not the name's (its cost to imports, see there).
SORTS: dict[str, tuple[Any, SortKey]] = {
    "-created": (_("Newest first"), SortKey("created_at", descending=True, is_datetime=True)),
    "created": (_("Oldest first"), SortKey("created_at", is_datetime=True)),
    "name": (_("Name A-Z"), SortKey("name")),
    "-name": (_("Name Z-A"), SortKey("name", descending=True)),
    "-last_purchase": (
        _("Last purchase, recent first"),
        SortKey("last_ordered_at", descending=True, nullable=True, is_datetime=True),
    ),
}
# By a current score, unscored customers last (see customers.selectors.score_sort). Total spend
# and purchases are not columns of the list: the API sorts by them.
for _key, _highest, _lowest in [
    ("clv", _("12-month CLV, highest first"), _("12-month CLV, lowest first")),
    ("churn_risk", _("Churn risk, highest first"), _("Churn risk, lowest first")),
    ("p_alive", _("Probability still active, highest first"),
     _("Probability still active, lowest first")),
]:
    SORTS[f"-{_key}"] = (_highest, score_sort(_key, descending=True))
    SORTS[_key] = (_lowest, score_sort(_key, descending=False))


def org_users(user: User) -> Any:
    return User.objects.filter(organization_id=user.organization_id, is_active=True).order_by(
        "display_name", "username"
    )


class CustomerFilterForm(forms.Form):
    """The list's filters, sort and cursor, all from the query string."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.none(), required=False, empty_label=_("Any")
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("Any")
    )
    tag = forms.ModelChoiceField(
        label=_("Tag"), queryset=Tag.objects.none(), required=False, empty_label=_("Any")
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=60)
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", _("Any source")), *Source.choices], required=False
    )
    purchased_from = forms.DateField(
        label=_("Last purchase from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    purchased_to = forms.DateField(
        label=_("Last purchase to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # The current value scores (patron.insights): a class, or a saved segment's conditions.
    rfm_segment = forms.ChoiceField(label=_("RFM segment"), required=False)
    class8 = forms.ChoiceField(label=_("Value class"), required=False)
    lifecycle = forms.ChoiceField(label=_("Lifecycle stage"), required=False)
    segment = forms.ModelChoiceField(
        label=_("Saved segment"), queryset=Segment.objects.none(), required=False, empty_label=_("Any")
    )
    sort = forms.ChoiceField(
        label=_("Sort"), choices=[(k, v[0]) for k, v in SORTS.items()], required=False
    )
    after = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = org_users(user)
        self.fields["team"].queryset = Team.objects.order_by("path")
        self.fields["tag"].queryset = Tag.objects.order_by("name")
        from patron.insights import labels
        from patron.insights import selectors as insights

        for name in SCORE_CLASSES:
            self.fields[name].choices = [("", _("Any")), *labels.choices(name)]
        self.fields["segment"].queryset = insights.segment_list(user=user)
        self.fields["q"].widget.attrs.update(
            type="search", placeholder=_("Name, company, phone or e-mail"), autocomplete="off"
        )

    def clean_segment(self) -> Any:
        """A saved segment whose conditions no longer hold (a class renamed since) is said
        so, instead of failing the list."""
        from patron.insights import selectors as insights

        segment = self.cleaned_data.get("segment")
        self.segment_conditions = None
        if segment is not None:
            try:
                self.segment_conditions = insights.parse_conditions(segment.conditions)
            except insights.ConditionError as error:
                raise ValidationError(_("This segment's conditions are no longer valid: %(e)s"),
                                      params={"e": error}) from error
        return segment

    # A date filters from the midnight starting it to the one after it, on the team's clock, as
    # the API's moment filters do: a midnight that cannot be stored is refused on its field.
    def clean_purchased_from(self) -> dt.date | None:
        if day := self.cleaned_data.get("purchased_from"):
            bounds.day_start(day, tz=timezone.get_current_timezone())
        return day

    def clean_purchased_to(self) -> dt.date | None:
        if day := self.cleaned_data.get("purchased_to"):
            bounds.day_start(day, tz=timezone.get_current_timezone(), days_later=1)
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("after") and data.get("before"):
            raise ValidationError(_("Give either a next or a previous page, not both."))
        start, end = data.get("purchased_from"), data.get("purchased_to")
        if start and end and start > end:
            self.add_error("purchased_to", _("The end date is before the start date."))
        return data

    def sort_key(self) -> SortKey:
        return SORTS[self.cleaned_data.get("sort") or "-created"][1]

    def selector_filters(self) -> dict[str, Any]:
        """The filters in `selectors.customer_list`'s vocabulary."""
        data = self.cleaned_data
        tz = timezone.get_current_timezone()
        filters = {
            "q": data.get("q", ""),
            "owner": data.get("owner"),
            "owner_team": data.get("team"),
            "tag": data.get("tag"),
            "region": data.get("region"),
            "source": data.get("source"),
            "score": {name: data[name] for name in SCORE_CLASSES if data.get(name)},
        }
        if data.get("segment"):
            filters["conditions"] = self.segment_conditions  # parsed by clean_segment
        if start := data.get("purchased_from"):
            filters["last_ordered_after"] = bounds.day_start(start, tz=tz)
        if end := data.get("purchased_to"):  # inclusive end date: before the next midnight
            filters["last_ordered_before"] = bounds.day_start(end, tz=tz, days_later=1)
        return filters


class CustomerForm(forms.Form):
    """Create and edit a customer; phone and e-mail are checked with the services' rules."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Customer.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"type": "email", "autocomplete": "off"}),
    )
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    id_number = forms.CharField(label=_("ID number"), max_length=32, required=False)
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    region = forms.CharField(label=_("Region"), max_length=60, required=False)
    city = forms.CharField(label=_("City"), max_length=60, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=60, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.OTHER)
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), choices=Channel.choices)
    consent_email = forms.BooleanField(label=_("Agrees to e-mail"), required=False)
    consent_sms = forms.BooleanField(label=_("Agrees to SMS"), required=False)
    consent_phone = forms.BooleanField(label=_("Agrees to calls"), required=False, initial=True)
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.none(), required=False
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Hidden: the page shows its error above the form (see customer_form.html), not by a field.
    version = forms.IntegerField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": _(
                "This form's version is not valid: the page is out of date or was altered. "
                "Reload it and make your changes again."
            )
        },
    )

    def __init__(self, *args: Any, region: str = "CN", customer: Customer | None = None, user: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region, self.customer = region, customer
        self.fields["tags"].queryset = Tag.objects.order_by("name")
        # As on a lead's form: a sensitive field is never pre-filled with its clear value (an
        # unaudited reveal, and to someone who may not even reveal it); left blank it keeps the
        # value it has, shown masked as its placeholder.
        for name in Customer.sensitive_fields if customer is not None else ():
            masked = masking.present(user, customer, name)
            if masked:
                self.fields[name].widget.attrs["placeholder"] = masked
                self.fields[name].help_text = _("Leave blank to keep the current value.")

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        return standardize.normalize_phone(value, region=self.region) if value else ""

    def clean_email(self) -> str:
        value = self.cleaned_data["email"].strip()
        return standardize.normalize_email(value) if value else ""

    def service_data(self) -> dict[str, Any]:
        kept = Customer.sensitive_fields if self.customer is not None else ()
        return {k: v for k, v in self.cleaned_data.items()
                if k not in ("tags", "version") and not (k in kept and v in ("", None))}

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, Any]:
        initial = {
            name: getattr(customer, name) for name in cls.base_fields
            if hasattr(customer, name) and name not in Customer.sensitive_fields
        }
        initial["tags"] = list(customer.tags.all())
        initial["version"] = customer.version
        return initial


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(label=_("New owner"), queryset=User.objects.none())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = org_users(user)


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[(f, f) for f in Customer.sensitive_fields])


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
        help_text=_("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=80)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    title = forms.CharField(label=_("Job title"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    wechat = forms.CharField(label=_("WeChat ID"), max_length=64, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
