"""`manage.py clean_customers`: the periodic data-cleaning job (run it daily or weekly)."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from patron.customers import cleaning
from patron.imports import exports
from patron.organizations.context import working_for
from patron.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Flag invalid contact data, stale customers and new duplicates as tasks for their owners; "
        "delete export files past their days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--org", action="append", default=[], help="organisation slug (default: all)"
        )
        parser.add_argument(
            "--as-of", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)"
        )
        parser.add_argument("--stale-days", type=int, default=180)
        parser.add_argument(
            "--since-days",
            type=int,
            default=None,
            help="scan for duplicates only among customers changed in these days",
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="at most this many tasks per kind"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organizations = Organization.objects.order_by("slug")
        if options["org"]:
            organizations = organizations.filter(slug__in=options["org"])
            if organizations.count() != len(set(options["org"])):
                raise CommandError("unknown organisation slug")
        since = None
        if options["since_days"] is not None:
            since = timezone.now() - dt.timedelta(days=options["since_days"])
        for organization in organizations:
            with working_for(organization):
                report = cleaning.clean_organization(
                    organization=organization,
                    as_of=options["as_of"] or organization.today(),
                    stale_days=options["stale_days"],
                    since=since,
                    limit=options["limit"],
                )
                # Export files may hold contact details in clear: none outlives its days,
                # even in an organisation that stopped exporting (each export prunes too).
                pruned = exports.exports_prune(organization_id=organization.pk)
            self.stdout.write(
                f"{organization.slug}: new pairs {report.new_pairs}; found {report.found}; "
                f"tasks created {report.tasks_created}; without owner {report.without_owner}; "
                f"old exports deleted {pruned}"
            )
        cleaning.keep_statistics()
