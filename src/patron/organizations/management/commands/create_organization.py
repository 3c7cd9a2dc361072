"""`patron manage create_organization`: a new installation's first organisation and its
administrator, who then signs in and sets up users, teams and pipelines on the admin pages.

The password comes from PATRON_ADMIN_PASSWORD (for scripted installs) or is asked for twice
at the terminal; it is never an argument, which would leave it in the shell's history.
"""

import getpass
import os
import sys

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from patron.accounts.models import User
from patron.accounts.services import user_create
from patron.common import tenancy
from patron.organizations import services
from patron.organizations.models import Organization

PASSWORD_VARIABLE = "PATRON_ADMIN_PASSWORD"  # noqa: S105 (the variable's name, not a password)


class Command(BaseCommand):
    help = "Create an organisation with its built-in roles, default pipeline and first administrator."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the organisation's name, e.g. 华东贸易")
        parser.add_argument("--slug", help="short name for commands and scripts (default: from the name)")
        parser.add_argument("--time-zone", default="Asia/Shanghai", help="IANA zone name (default: Asia/Shanghai)")
        parser.add_argument("--currency", default="CNY", help="ISO 4217 code (default: CNY)")
        parser.add_argument("--phone-region", default="CN",
                            help="region for phone numbers written without +country code (default: CN)")
        parser.add_argument("--language", default="zh-hans", help="zh-hans or en (default: zh-hans)")
        parser.add_argument("--admin", required=True, help="the administrator's user name")
        parser.add_argument("--email", default="", help="the administrator's e-mail address")

    def handle(self, *args, **opts):
        slug = opts["slug"] or slugify(opts["name"])
        if not slug:
            raise CommandError("--slug: the name has no Latin letters or digits to make a short name of; give one")
        if User.objects.filter(username=opts["admin"]).exists():
            raise CommandError(f"--admin: the user name {opts['admin']!r} is taken")
        # Every option checked before the password is asked for: a mistyped zone is said first.
        planned = Organization(name=opts["name"], slug=slug,
                               time_zone=opts["time_zone"], currency=opts["currency"],
                               phone_region=opts["phone_region"], language=opts["language"])
        try:
            planned.full_clean()
        except ValidationError as exc:
            raise CommandError(_described(exc)) from exc
        password = self._password(opts["admin"])
        try:
            with transaction.atomic(), tenancy.unscoped():
                org = services.organization_create(
                    name=opts["name"], slug=slug, time_zone=opts["time_zone"], currency=opts["currency"],
                    phone_region=opts["phone_region"], language=opts["language"],
                )
                with tenancy.scope(org):
                    user_create(organization=org, username=opts["admin"], password=password, roles=["admin"],
                                email=opts["email"])
        except ValidationError as exc:
            raise CommandError(_described(exc)) from exc
        self.stdout.write(f"{org.slug}: organisation {org.name!r} created; {opts['admin']} can sign in "
                          f"and administer it")

    def _password(self, username: str) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is None:
            if not sys.stdin.isatty():
                raise CommandError(f"set {PASSWORD_VARIABLE}, or run this in a terminal to type the password")
            password = getpass.getpass(f"Password for {username}: ")
            if getpass.getpass("Again: ") != password:
                raise CommandError("the two passwords differ")
        try:
            password_validation.validate_password(password, User(username=username))
        except ValidationError as exc:
            raise CommandError("password: " + " ".join(exc.messages)) from exc
        return password


_OPTION = {"name": "name", "__all__": "organisation"}


def _described(exc: ValidationError) -> str:
    """The errors with each field named as its option is (--time-zone: ...)."""
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    return "; ".join(
        f"{_OPTION.get(field, '--' + field.replace('_', '-'))}: {' '.join(messages)}"
        for field, messages in exc.message_dict.items()
    )
