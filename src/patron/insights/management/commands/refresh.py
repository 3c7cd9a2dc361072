"""`patron refresh`: the full value refresh for schedulers (cron), idempotent per date."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from patron.accounts import permissions
from patron.insights import actions, services
from patron.organizations.context import working_for
from patron.organizations.models import Organization


class Command(BaseCommand):
    help = "Score every customer (RFM, classes, CLV, churn risk), raise churn alerts and close those no longer due."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: all)")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, help="date of the analysis (default: today)")
        parser.add_argument("--no-alerts", action="store_true", help="do not create churn-alert tasks")

    def handle(self, *args, **opts):
        orgs = Organization.objects.all()
        if opts["org"]:
            orgs = orgs.filter(slug=opts["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation with slug {opts['org']!r}")
        for org in orgs:
            with working_for(org):
                run = services.value_refresh(organization=org, as_of=opts["as_of"])
                line = f"{org.slug}: {run.get_status_display()} — {run.n_customers} customers as of {run.as_of}"
                if run.status == run.Status.FAILED:
                    self.stderr.write(f"{line}: {run.error}")
                    continue
                timings = run.report.get("timings_s", {})
                self.stdout.write(f"{line} in {timings.get('total', 0):.1f}s of models, "
                                  f"database {run.report.get('database_s')}")
                if not opts["no_alerts"]:
                    created = actions.churn_alerts_raise(user=permissions.system_actor(org))
                    self.stdout.write(f"{org.slug}: {created} churn alerts")
                # Even without new alerts: an open one whose customer is no longer at risk is stale.
                closed = actions.churn_alerts_close(user=permissions.system_actor(org))
                self.stdout.write(f"{org.slug}: {closed} churn alerts closed, the risk having fallen")
