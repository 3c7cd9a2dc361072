"""The organisation's settings, as its administrators edit them."""

import phonenumbers
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from patron.organizations.models import time_zone_names, validate_currency


def _region_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} (+{phonenumbers.country_code_for_region(code)})")
            for code in sorted(phonenumbers.SUPPORTED_REGIONS)]


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=lambda: [(z, z) for z in time_zone_names()],
        help_text=_("The team's clock: its working day, the times on every page, and the date "
                    "scores and periods count from."),
    )
    currency = forms.CharField(
        label=_("Currency"), max_length=3,
        help_text=_("ISO 4217 code, such as CNY. New orders and deals are recorded in it; "
                    "existing ones keep theirs."),
    )
    phone_region = forms.ChoiceField(
        label=_("Phone region"), choices=_region_choices,
        help_text=_("How phone numbers written without a country code are read, in forms, searches "
                    "and imports."),
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=lambda: settings.LANGUAGES,
        help_text=_("What Patron writes for the team on its own is worded in it: tasks from playbooks, "
                    "churn alerts and data cleaning, and import reports. Each person's pages speak "
                    "the language they choose."),
    )

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        validate_currency(currency)
        return currency
