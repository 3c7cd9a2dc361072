"""Forms of the admin pages (users, teams, roles, pipelines and stages)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.accounts.capabilities import RESOURCES, Scope
from patron.accounts.models import Role, Team
from patron.sales.models import Stage


def _team_choices(field: forms.ModelChoiceField, exclude: Team | None = None) -> None:
    # Built per request (inside the organisation scope), never at import time.
    qs = Team.objects.order_by("path")
    if exclude is not None:
        qs = qs.exclude(path__startswith=exclude.path)
    field.queryset = qs


class UserForm(forms.Form):
    """Create (username and password too) or edit a user of the organisation."""

    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to let the user set one through password reset."),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _team_choices(self.fields["team"])
        self.fields["roles"].queryset = Role.objects.order_by("name")
        if editing:
            del self.fields["username"], self.fields["password"]
        else:
            del self.fields["is_active"]

    def clean_username(self) -> str:
        from patron.accounts.models import User

        username = self.cleaned_data["username"]
        # Usernames are unique across organisations (sign-in looks them up before any scope).
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data["password"]
        if password:
            validate_password(password)
        return password


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    parent = forms.ModelChoiceField(
        label=_("Parent team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("(top level)"),
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _team_choices(self.fields["parent"], exclude=team)


class RoleCreateForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=60)
    name = forms.CharField(label=_("Name"), max_length=120)


class RoleForm(forms.Form):
    """The role's name and one scope per capability: the capability x scope grid."""

    name = forms.CharField(label=_("Name"), max_length=120)
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, role: Role, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": role.name,
                "expected_version": role.version,
                **{self.field_name(c): int(s) for c, s in role.capabilities.items()},
            },
        )
        super().__init__(*args, **kwargs)
        for resource, actions in RESOURCES.items():
            for action in actions:
                self.fields[self.field_name(f"{resource}.{action}")] = forms.TypedChoiceField(
                    label=f"{resource}.{action}",
                    choices=Scope.choices,
                    coerce=int,
                    initial=Scope.NONE,
                    required=False,
                    empty_value=Scope.NONE,
                )

    @staticmethod
    def field_name(capability: str) -> str:
        return "cap_" + capability.replace(".", "__")

    def rows(self) -> list[tuple[str, list]]:
        """(resource, [(action, bound field)]) for the grid template."""
        return [
            (
                resource,
                [(action, self[self.field_name(f"{resource}.{action}")]) for action in actions],
            )
            for resource, actions in RESOURCES.items()
        ]

    def capabilities(self) -> dict[str, int]:
        return {
            f"{resource}.{action}": int(
                self.cleaned_data[self.field_name(f"{resource}.{action}")] or 0
            )
            for resource, actions in RESOURCES.items()
            for action in actions
        }


class PipelineForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    is_default = forms.BooleanField(label=_("Default pipeline"), required=False)


class StageForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    probability = forms.IntegerField(label=_("Win probability (%)"), min_value=0, max_value=100)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Stage.Outcome.choices, initial=Stage.Outcome.OPEN
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["outcome"]


class StageMoveForm(forms.Form):
    step = forms.TypedChoiceField(choices=[("-1", _("Up")), ("1", _("Down"))], coerce=int)
