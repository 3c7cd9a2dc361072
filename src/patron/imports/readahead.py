"""Reading and cleaning a large file in a child process, one batch ahead of the writer.

Reading and cleaning rows is pure Python over strings, about a fifth of an import's time;
writing a batch is the rest, here and in the database. A child process cleans the next batch
while this one writes the current one, on another core. (A thread does not help: the writer
gives up Python's interpreter lock at each row SQLite steps, and waits up to 5 ms to get it
back from a busy cleaning thread, so the two ran one after the other.)

Into SQLite the child also makes the new records' rows and audit entries (`kinds.Drafts`),
about half of the Python on the writer's thread, SQLite's only one (19 s of 33 s at a million
rows): a million rows took 64 s against 67 s on average over five alternating pairs, for 18 s
more CPU (pickling), on two cores that the two processes and SQLite's checkpoints already
keep busy. PostgreSQL stores each piece of a COPY while the writer makes the next, so there
the server is an import's critical path, and drafting here cost the machine more (20 s more
CPU, 93-97 s -> 101-105 s) than it saved the writer.

The child starts a fresh interpreter (about two seconds to load Django); the writer cleans
batches itself until the child says it is ready, then hands over at a batch boundary by
telling it where to start. Batches come back in file order over a pipe, whose small buffer
keeps the child at most about a batch ahead. A child that cannot start leaves the writer
cleaning every batch itself; a file the child cannot read fails the import as it would in
this process, and a child lost midway fails it too (to be resumed like any other). When
this process ends, killed or not, its end of the pipe closes and the child, blocked on it,
exits.
"""

import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from patron.imports import readers

Cleaned = tuple[dict[str, Any], list[tuple[str, str]]]
Batch = tuple[list[int], list[Cleaned], list[Any] | None]


@dataclass(frozen=True)
class Plan:
    """What the child needs to read and clean the file exactly as this process would."""

    path: str
    name: str
    encoding: str
    delimiter: str
    sheet: str
    header_row: int
    kind: str
    columns: list[str]
    region: str
    day_first: bool
    time_zone: str
    language: str | None
    batch_size: int
    organization_id: Any
    actor_id: Any
    job_id: Any
    vendor: str  # the writer's database: new records' rows are encoded for it


class ReadAhead:
    """A child process that reads and cleans the file's batches once told where to start."""

    def __init__(self, plan: Plan) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding connections
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_child, args=(plan, child_end), name="import-readahead", daemon=True
        )
        self._process.start()
        child_end.close()
        self._state = "starting"

    def ready(self, timeout: float = 0) -> bool:
        """Whether the child has loaded Django and waits to be told where to start (waiting
        up to `timeout` seconds). A child that could not start is never ready: the importer
        goes on cleaning batches itself."""
        if self._state == "starting" and self._pipe.poll(timeout):
            try:
                self._state = "ready" if self._pipe.recv() == "ready" else "failed"
            except (EOFError, OSError):
                self._state = "failed"
        return self._state == "ready"

    def batches(self, *, after: int) -> Iterator[Batch]:
        """(row numbers, cleaned rows, drafts) of each batch after row `after`, in file
        order, once `ready()`."""
        self._pipe.send(after)
        while True:
            message = self._pipe.recv()
            if message[0] == "batch":
                yield message[1], message[2], message[3]
            elif message[0] == "end":
                return
            elif message[0] == "unreadable":
                raise readers.ReaderError(message[1])
            else:
                raise RuntimeError(f"the read-ahead process failed: {message[1]}")

    def close(self) -> None:
        self._pipe.close()  # a child blocked on the pipe gets an error and exits
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()


def _child(plan: Plan, pipe: Connection) -> None:
    try:
        cleaner, drafts, table = _setup(plan)
        pipe.send("ready")
        after = pipe.recv()
        numbers: list[int] = []
        cleaned: list[Cleaned] = []
        for number, values in table.rows():
            if number <= after:
                continue
            numbers.append(number)
            cleaned.append(cleaner(values))
            if len(numbers) >= plan.batch_size:
                pipe.send(("batch", numbers, cleaned, drafts(cleaned) if drafts else None))
                numbers, cleaned = [], []
        if numbers:
            pipe.send(("batch", numbers, cleaned, drafts(cleaned) if drafts else None))
        pipe.send(("end",))
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the importing process is gone or finished without us
    except readers.ReaderError as exc:
        _send_quietly(pipe, ("unreadable", str(exc)))
    except Exception as exc:
        _send_quietly(pipe, ("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


def _setup(plan: Plan) -> tuple[Any, Any, readers.Table]:
    import zoneinfo

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    django.setup()
    from django.db import connection

    if connection.vendor != plan.vendor:  # rows encoded for another database: clean nothing
        raise RuntimeError(f"this process would write to {connection.vendor}, not {plan.vendor}")
    from django.utils import translation

    from patron.imports.cleaning import RowCleaner
    from patron.imports.kinds import KINDS, Context

    if plan.language:
        translation.activate(plan.language)  # the cleaners' messages, as the run would say them
    ctx = Context(
        user=None,
        organization_id=None,
        job_id=None,
        key_field="",
        owner_rule="",
        region=plan.region,
        day_first=plan.day_first,
        tz=zoneinfo.ZoneInfo(plan.time_zone),
    )
    kind = KINDS[plan.kind]
    cleaner = RowCleaner(plan.columns, kind.cleaners(ctx))
    drafts = None
    if hasattr(kind, "drafts") and plan.vendor == "sqlite":  # as the writer would make them
        drafts = kind.drafts(
            organization_id=plan.organization_id, actor_id=plan.actor_id, job_id=plan.job_id
        )
    table = readers.open_table(
        Path(plan.path),
        name=plan.name,
        encoding=plan.encoding,
        delimiter=plan.delimiter,
        sheet=plan.sheet,
        header_row=plan.header_row,
    )
    return cleaner, drafts, table


def _send_quietly(pipe: Connection, message: tuple) -> None:
    try:
        pipe.send(message)
    except (BrokenPipeError, OSError):
        pass
