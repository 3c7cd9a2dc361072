"""Forms of the task pages."""

from django import forms
from django.utils.translation import gettext_lazy as _


class TaskFilterForm(forms.Form):
    whose = forms.ChoiceField(
        label=_("Whose tasks"),
        required=False,
        choices=[("mine", _("Mine")), ("team", _("My team's"))],
    )


class TaskRescheduleForm(forms.Form):
    due_at = forms.DateTimeField(
        label=_("New due date"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = forms.DateTimeField(
        label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    remind_at = forms.DateTimeField(
        label=_("Remind me at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
