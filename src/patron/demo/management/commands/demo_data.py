"""`demo_data`: the demo organisation with generated customers, orders and pipeline."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patron.demo import services


class Command(BaseCommand):
    help = "Create the demo organisation and fill it with realistic, reproducible sample data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000, help="how many customers")
        parser.add_argument("--seed", type=int, default=42,
                            help="random seed (same seed, same data)")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None,
                            help="the day the data ends (YYYY-MM-DD); default today")
        parser.add_argument("--reset", action="store_true",
                            help="delete an existing demo organisation and start again")

    def handle(self, *args: Any, customers: int, seed: int, today: dt.date | None, reset: bool,
               **options: Any) -> None:
        if customers < 0:
            self.stderr.write("--customers cannot be negative")
            return
        result = services.demo_load(
            customers=customers, seed=seed, today=today, reset=reset,
            progress=lambda text: self.stderr.write(text) if options["verbosity"] > 1 else None,
        )
        if result.created:
            counts = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
            self.stdout.write(f"Demo organisation created: {counts}.")
        else:
            self.stdout.write(
                "The demo organisation already exists (`patron manage demo_data --reset` recreates it)."
            )
        self._logins()

    def _logins(self) -> None:
        rows = [("username", "password", "role", "team"), *services.logins_table()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            cells = (value.ljust(width) for value, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
