"""`patron import FILE --kind customers --org SLUG --user USERNAME [--key phone] [--mapping JSON]`.

Imports a file the way the web page does, with a progress bar; `--resume JOB_ID` finishes an
import whose process was killed. Rejected rows are written to a CSV whose path is printed.
"""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from patron.accounts.models import Team, User
from patron.common import tenancy
from patron.imports import mapping, services
from patron.imports.models import ImportJob
from patron.organizations.context import working_for
from patron.organizations.models import Organization


class Command(BaseCommand):
    help = "Import customers, leads, products or orders from a CSV, XLSX or vCard file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--kind", choices=mapping.KINDS, default="customers")
        parser.add_argument("--org", required=True, help="the organisation's short name")
        parser.add_argument("--user", required=True, help="who imports (owner and audit)")
        parser.add_argument("--key", default="", help="match on phone, email, number, sku ...")
        parser.add_argument("--mapping", default="", help='JSON {"header": "field"}')
        parser.add_argument("--owner-rule", choices=ImportJob.OwnerRule.values, default="importer")
        parser.add_argument("--owner-team", default="", help='the team to share among (owner rule "team")')
        parser.add_argument("--day-first", action="store_true", help="read 05/03/2024 as 5 March")
        parser.add_argument("--sheet", default="", help="XLSX: the sheet to read")
        parser.add_argument(
            "--header-row", type=int, default=0, help="the row of column names (found if absent)"
        )
        parser.add_argument("--batch-size", type=int, default=services.BATCH_SIZE)
        parser.add_argument("--resume", default="", help="the id of an interrupted import")
        parser.add_argument("--rejected", type=Path, help="where to write the rejected rows")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(stderr=True)
        with tenancy.unscoped():
            org = Organization.objects.filter(slug=options["org"]).first()
            user = User.objects.filter(organization=org, username=options["user"]).first()
        if org is None or user is None:
            raise CommandError("no such organisation or user")
        with working_for(org):
            job = self._job(user, options)
            job = self._run(job, options["batch_size"], console)
            self._report(job, options, console)

    def _job(self, user: User, options: dict[str, Any]) -> ImportJob:
        if options["resume"]:
            return ImportJob.objects.select_related("created_by__organization").get(
                pk=options["resume"]
            )
        path: Path | None = options["file"]
        if path is None or not path.is_file():
            raise CommandError("give a file to import (or --resume JOB_ID)")
        try:
            names = json.loads(options["mapping"]) if options["mapping"] else None
            with path.open("rb") as handle:
                job = services.import_create(
                    user=user,
                    file=File(handle, name=path.name),
                    name=path.name,
                    kind=options["kind"],
                    key_field=options["key"],
                    day_first=options["day_first"],
                    owner_rule=options["owner_rule"],
                    owner_team=self._team(options["owner_team"]),
                    mapping_names=names,
                    sheet=options["sheet"],
                    header_row=options["header_row"],
                )
        except (ValidationError, json.JSONDecodeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        problems = mapping.validate_mapping(job.mapping, job.kind, job.key_field)
        if problems:
            raise CommandError("; ".join(problems))
        return job

    def _team(self, name: str) -> Team | None:
        if not name:
            return None
        teams = list(Team.objects.filter(name=name)[:2])  # names are unique under one parent only
        if len(teams) != 1:
            raise CommandError(f"{'no' if not teams else 'more than one'} team called {name!r}")
        return teams[0]

    def _run(self, job: ImportJob, batch_size: int, console: Console) -> ImportJob:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(job.original_name, total=None, completed=job.rows_done)

            def advance(current: ImportJob) -> None:
                bar.update(task, total=current.rows_total, completed=current.rows_done)

            job = services.import_run(job=job, batch_size=batch_size, progress=advance)
            bar.update(task, total=job.rows_total, completed=job.rows_done)
        return job

    def _report(self, job: ImportJob, options: dict[str, Any], console: Console) -> None:
        self.stdout.write(
            f"import {job.pk}: {job.status}; {job.rows_created} created, {job.rows_updated} updated, "
            f"{job.rows_unchanged} unchanged, {job.rows_rejected} rejected of {job.rows_total} rows"
        )
        for error in job.errors:
            console.print(f"[red]{error}[/red]")
        if job.rows_rejected:
            target = options["rejected"] or Path(f"{Path(job.original_name).stem}.rejected.csv")
            target.write_bytes(services.rejected_rows_file(job=job))
            self.stdout.write(f"rejected rows: {target.resolve()}")
        if job.status != ImportJob.Status.DONE:
            raise CommandError(f"the import did not finish; resume with --resume {job.pk}")
