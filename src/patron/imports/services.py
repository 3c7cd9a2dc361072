"""Imports: upload a file, preview it with its problems, run it in all-or-nothing batches.

`import_run` is safe to call again on a job that died half-way (killed worker, lost database
connection): each batch commits its rows, their audit entries, their rejections and the new
checkpoint in one transaction, and the next run skips every row up to the checkpoint. Rows
are matched to existing records by the key the user chose (or by phone and e-mail), so
importing the same file twice updates instead of duplicating.
"""

import codecs
import csv
import io
import logging
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.accounts.models import Team, User
from patron.audit import services as audit
from patron.common import bulk, standardize
from patron.imports import batches, cleaning, exports, mapping, readahead, readers
from patron.imports.batches import ImportInterrupted
from patron.imports.kinds import KINDS, Context, OwnedPeopleKind
from patron.imports.models import ImportJob, in_language_of

# Rows per all-or-nothing batch. Larger batches share index pages between more rows (on
# SQLite a 5,000-row commit writes half the pages per row of a 1,000-row one) and fold more
# repeated rows into one record, at the price of more to redo after a crash. The phone and
# e-mail indexes take each batch's rows at random pages, so the gain grows with the table:
# a million rows into SQLite took 56-62 s in batches of 20,000 against 64-65 s in batches of
# 5,000 (the same at 300,000 rows and on PostgreSQL; 50,000 no better).
BATCH_SIZE = 20_000
# Files from this size on are cleaned by a read-ahead process (about 30,000 rows of a CSV):
# it takes two seconds to start, which a smaller file does not repay.
READ_AHEAD_MIN_BYTES = 2 * 2**20
MAX_UPLOAD_BYTES = getattr(settings, "PATRON_IMPORT_MAX_BYTES", 256 * 1024 * 1024)
logger = logging.getLogger(__name__)
RESOURCE = {"customers": "customers", "leads": "leads", "products": "products", "orders": "orders"}


@dataclass
class PreviewRow:
    row: int
    values: list[str]
    problems: list[tuple[str, str]] = field(default_factory=list)
    action: str = ""  # "create", "update", "repeat" (of a row above) or "" when rejected
    changes: list[str] = field(default_factory=list)  # what an update changes, by field label


@dataclass
class Preview:
    headers: list[str]
    mapping: list[str]
    rows: list[PreviewRow]
    problems: list[str]  # problems with the mapping itself


def job_table(job: ImportJob) -> readers.Table:
    """The job's file, opened as the job says to read it."""
    return readers.open_table(
        Path(job.source.path),
        name=job.original_name,
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheet=job.sheet,
        header_row=job.header_row,
    )


def import_create(
    *,
    user: Any,
    file: File,
    name: str,
    kind: str,
    key_field: str = "",
    owner_rule: str = ImportJob.OwnerRule.IMPORTER,
    day_first: bool = False,
    mapping_names: dict[str, str] | None = None,
    sheet: str = "",
    header_row: int = 0,
    owner_team: Team | None = None,
) -> ImportJob:
    """Store an uploaded file as a new job, detect how to read it and guess the mapping.
    `sheet` and `header_row` say where the records are; by default the first sheet with
    anything on it, and the header found among the first rows."""
    if kind not in KINDS:
        raise ValidationError({"kind": _("Unknown kind of import.")})
    if not permissions.can_create(user, RESOURCE[kind]):
        raise permissions.PermissionDenied(f"{RESOURCE[kind]}.add")
    if key_field not in KINDS[kind].key_fields and not (kind == "products" and not key_field):
        raise ValidationError({"key_field": _("Records of this kind cannot be matched on that.")})
    _check_header_row(header_row, allow_zero=True)
    _check_mapping_names(mapping_names, kind)
    if not file.size:
        raise ValidationError({"file": _("The file is empty.")})
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": _("The file is larger than %(n)s MB.") % {"n": MAX_UPLOAD_BYTES // 2**20}}
        )
    job = ImportJob(
        organization_id=user.organization_id,
        kind=kind,
        original_name=name[:255],
        key_field=key_field or ("sku" if kind == "products" else ""),
        owner_rule=owner_rule,
        owner_team=owner_team if owner_rule == ImportJob.OwnerRule.TEAM else None,
        day_first=day_first,
        created_by=user,
        language=translation.get_language() or "",
    )
    _check_owner_team(job, user, owner_rule, owner_team)
    job.source.save(Path(name).name[-100:] or "import", file, save=False)
    job.sheet, job.header_row = sheet, header_row
    try:
        table = job_table(job)
        job.mapping = (
            mapping.mapping_from_names(table.headers, mapping_names, kind)
            if mapping_names
            else mapping.guess_mapping(table.headers, kind)
        )
    except (readers.ReaderError, ValueError) as exc:
        job.source.delete(save=False)
        field_name = "sheet" if isinstance(exc, readers.NoSuchSheet) else "file"
        raise ValidationError({field_name: str(exc)}) from None
    key = mapping.key_problem(job.mapping, kind, key_field)
    if key:  # the API and the command have no mapping step to set it right later
        job.source.delete(save=False)
        raise ValidationError({"key_field": key})
    job.encoding, job.delimiter = table.encoding, table.delimiter
    job.sheet, job.header_row = table.sheet, table.header_row
    job.save()
    audit.record(
        "import.created", obj=job, user=user, data={"kind": kind, "file": job.original_name}
    )
    return job


def _context(job: ImportJob, user: Any) -> Context:
    org = user.organization
    users: dict[str, Any] = {}
    if job.owner_rule == ImportJob.OwnerRule.COLUMN:
        named: dict[str, set] = defaultdict(set)
        people = list(User.objects.filter(organization_id=job.organization_id, is_active=True))
        for u in people:
            for name in _names_of(u):
                named[standardize.clean_name(name).lower()].add(u)
        # A name two people share names nobody: the row is refused rather than guessed. A
        # login or an e-mail address is one person's alone, and always names them.
        users = {name: next(iter(who)) for name, who in named.items() if name and len(who) == 1}
        for u in people:
            users.update({n.strip().lower(): u for n in (u.username, u.email) if n and n.strip()})
    members = []
    if job.owner_rule == ImportJob.OwnerRule.TEAM:
        # As checked when it was set up: the run stops rather than share among fewer people.
        creator = job.created_by or user
        _check_owner_team(job, creator, job.owner_rule, job.owner_team)
        members = team_members(job=job, user=creator, team=job.owner_team)
    return Context(
        user=user,
        organization_id=job.organization_id,
        job_id=job.pk,
        key_field=job.key_field,
        owner_rule=job.owner_rule,
        region=org.phone_region or "CN",
        day_first=job.day_first,
        tz=zoneinfo.ZoneInfo(org.time_zone),
        now=timezone.now(),
        users=users,
        members=members,
    )


def team_members(*, job: ImportJob, user: Any, team: Team | None) -> list[User]:
    """Who new records are shared among (owner rule "team"): the team's active members who
    may see such records and whom `user` may give them to, in a fixed order (by login), so
    that a resumed run shares as the first did."""
    return [person for person, allowed in _team_people(job, user, team) if allowed]


def _team_people(job: ImportJob, user: Any, team: Team | None) -> list[tuple[User, bool]]:
    """The team's active members who may see such records, each with whether `user` may
    give them records."""
    if team is None:
        return []
    resource = RESOURCE[job.kind]
    people = User.objects.filter(organization_id=job.organization_id, team=team, is_active=True)
    transfer = user.scope_for(f"{resource}.transfer")
    return [
        (person, person.pk == user.pk or permissions.in_scope(user, transfer, person.pk, team.pk))
        for person in people.order_by("username")
        if person.scope_for(f"{resource}.view") > Scope.NONE
    ]


_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def _names_of(user: User) -> set[str]:
    """The ways a team writes who owns a row: login, e-mail, the name shown, and its parts
    when it pairs a Chinese and a Latin name ("王磊 Wang Lei": 王磊, Wang Lei), family name
    first or last."""
    names = {user.display_name, user.get_full_name()}
    names.add(f"{user.last_name}{user.first_name}" if not user.last_name.isascii() else "")
    names.add(f"{user.last_name} {user.first_name}")
    chinese = [run for run in _CJK_RUN.findall(user.display_name) if len(run) > 1]
    latin = _CJK_RUN.sub(" ", user.display_name).strip()
    if len(chinese) == 1 and latin and latin.isascii():
        names.update({chinese[0], latin})
    return {n.strip() for n in names if n and n.strip()}


def import_prepare(*, job: ImportJob, user: Any, limit: int = 20) -> Preview:
    """The first rows as they would be imported, with each row's problems; writes nothing."""
    table = job_table(job)
    kind = KINDS[job.kind]
    ctx = _context(job, user)
    kind.load_index(ctx)
    clean = cleaning.RowCleaner(job.mapping, kind.cleaners(ctx))
    rows = []
    seen: dict = {}  # keys of rows above that will create a record: a repeat updates it
    updates: list[tuple[PreviewRow, Any]] = []
    for number, values in readers.read_all(table, limit):
        pending, problems = batches.classify(kind, ctx, number, *clean(values))
        first = next((seen[key] for key in pending.keys if key in seen), None) if pending else None
        refusal = first and hasattr(kind, "repeat_refusal") and kind.repeat_refusal(first, pending)
        if refusal:  # as the run will: refused rather than merged into another customer's
            pending, problems = None, [refusal]
        labelled = [
            (batches.column_label(job, table.labels, f), reason) for f, reason in problems
        ]
        action = ""
        if pending is not None:
            action = "update" if pending.pk else "repeat" if first else "create"
            for key in batches.found_by(kind, ctx, pending):
                seen.setdefault(key, pending)
        rows.append(PreviewRow(number, values, labelled, action))
        if action == "update":
            updates.append((rows[-1], pending))
    if updates and hasattr(kind, "changed_fields"):  # say what an update overwrites, before it does
        changed = kind.changed_fields([p for _row, p in updates], ctx)
        for (row, _pending), fields in zip(updates, changed, strict=True):
            row.changes = [batches.column_label(job, table.labels, f) for f in fields]
    return Preview(
        table.labels, job.mapping, rows, mapping.validate_mapping(job.mapping, job.kind, job.key_field)
    )


def import_reframe(*, job: ImportJob, user: Any, sheet: str, header_row: int) -> ImportJob:
    """Read the columns from another sheet or header row, and guess their mapping anew."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError(_("This import has already started."))
    _check_header_row(header_row)
    before = job.sheet, job.header_row
    if sheet != job.sheet and header_row == job.header_row:
        header_row = 0  # another sheet: find its header, unless a row was given with it
    job.sheet, job.header_row = sheet, header_row
    try:
        table = job_table(job)
    except readers.ReaderError as exc:
        job.sheet, job.header_row = before
        field_name = "sheet" if isinstance(exc, readers.NoSuchSheet) else "header_row"
        raise ValidationError({field_name: str(exc)}) from None
    job.sheet, job.header_row = table.sheet, table.header_row
    job.mapping = mapping.guess_mapping(table.headers, job.kind)
    changed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        sheet=job.sheet, header_row=job.header_row, mapping=job.mapping, updated_at=timezone.now()
    )
    if not changed:  # started meanwhile
        raise ValidationError(_("This import has already started."))
    return job


def _check_header_row(header_row: int, *, allow_zero: bool = False) -> None:
    if not (allow_zero and header_row == 0) and not 1 <= header_row <= readers.MAX_HEADER_ROW:
        raise ValidationError(
            {
                "header_row": _("The header row must be between 1 and %(n)s.")
                % {"n": readers.MAX_HEADER_ROW}
            }
        )


def _check_mapping_names(names: dict | None, kind: str) -> None:
    """A mapping given by name ({"column header": "field"}, from the API or the command) holds
    text only, and fields of this kind: it comes as JSON, where a number, a list or null as a
    value failed while the file was read (a 500 over the API, and an error on "file")."""
    if names is None:
        return
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise ValidationError({"mapping": _("Give each column's name and its field's name as text.")})
    unknown = sorted(set(names.values()) - set(mapping.TARGETS[kind]) - {""})
    if unknown:
        raise ValidationError({"mapping": [_("Unknown field: %(f)s") % {"f": name} for name in unknown]})


def import_configure(
    *,
    job: ImportJob,
    user: Any,
    columns: list[str],
    key_field: str,
    owner_rule: str,
    day_first: bool,
    owner_team: Team | None = None,
) -> ImportJob:
    """Save the mapping the user confirmed; refused once the import has started."""
    if job.status not in (ImportJob.Status.UPLOADED,):
        raise ValidationError(_("This import has already started."))
    problems = mapping.validate_mapping(columns, job.kind)
    if problems:
        raise ValidationError(problems)
    key = mapping.key_problem(columns, job.kind, key_field)
    if key:
        raise ValidationError({"key_field": key})
    _check_owner_team(job, job.created_by or user, owner_rule, owner_team)
    job.mapping, job.key_field, job.owner_rule, job.day_first = (
        columns,
        key_field,
        owner_rule,
        day_first,
    )
    job.owner_team = owner_team if owner_rule == ImportJob.OwnerRule.TEAM else None
    job.save(
        update_fields=["mapping", "key_field", "owner_rule", "owner_team", "day_first", "updated_at"]
    )
    return job


def _check_owner_team(job: ImportJob, user: Any, owner_rule: str, team: Team | None) -> None:
    """The team rule is for records with owners, and a team whose every member may own
    them and receive them from `user`: the job's creator, as whom the import runs."""
    if owner_rule != ImportJob.OwnerRule.TEAM:
        return
    if not isinstance(KINDS[job.kind], OwnedPeopleKind):  # products and orders have no owner
        raise ValidationError({"owner_rule": _("Only customers and leads have owners to share them among.")})
    if team is None or team.organization_id != job.organization_id:
        raise ValidationError({"owner_team": _("Choose the team whose members get the new records.")})
    people = _team_people(job, user, team)
    if not people:
        raise ValidationError({"owner_team": _("Nobody in %(team)s may own these records.") % {"team": team}})
    refused = [str(person) for person, allowed in people if not allowed]
    if refused:  # sharing with some of a team only would not be what was asked
        raise ValidationError(
            {"owner_team": _("You may not give records to %(names)s.") % {"names": ", ".join(refused)}}
        )


def import_start(*, job: ImportJob, user: Any) -> ImportJob:
    """Queue the import as a background job once the current transaction commits."""
    from patron.imports import tasks

    problems = mapping.validate_mapping(job.mapping, job.kind, job.key_field)
    if problems:
        raise ValidationError(problems)
    _check_owner_team(job, job.created_by or user, job.owner_rule, job.owner_team)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
        status=ImportJob.Status.QUEUED
    )
    if updated:
        job.status = ImportJob.Status.QUEUED
        audit.record("import.started", obj=job, user=user)
        args = (str(job.pk), str(job.organization_id))
        transaction.on_commit(lambda: tasks.import_job_run.enqueue(*args))
    return job


# An import that wrote this many rows refreshes the planner's statistics of its tables.
ANALYZE_MIN_ROWS = 10_000


def import_run(
    *,
    job: ImportJob,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import (or finish importing) every row after the job's checkpoint, in the language of
    who uploaded it; `progress` is called after each committed batch (the command's bar)."""
    with in_language_of(job):
        return _import_run(job, batch_size, progress)


def _import_run(
    job: ImportJob, batch_size: int, progress: Callable[[ImportJob], None] | None
) -> ImportJob:
    kind = KINDS[job.kind]
    user = job.created_by
    ahead = None
    try:
        table = job_table(job)
        if job.source.size >= READ_AHEAD_MIN_BYTES:  # started first: it loads while we count
            ahead = _read_ahead(job, batch_size)
        if not job.rows_total:
            job.rows_total = sum(1 for _ in table.rows())
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.RUNNING,
            rows_total=job.rows_total,
            started_at=job.started_at or timezone.now(),
        )
        ctx = _context(job, user)
        if hasattr(kind, "drafts"):
            ctx.drafts = kind.drafts(
                organization_id=job.organization_id, actor_id=user.pk, job_id=job.pk
            )
        kind.load_index(ctx)
        clean = cleaning.RowCleaner(job.mapping, kind.cleaners(ctx))
        with batches.bulk_writes(), batches.settled_heap() as settle:
            for batch in _cleaned_batches(job, table, clean, batch_size, ahead):
                batches.batch_write(job, kind, ctx, batch, table.labels)
                settle()
                if progress:
                    progress(job)
    except (readers.ReaderError, ImportInterrupted) as exc:
        _fail(job, str(exc))
        return job
    except ValidationError as exc:  # the team to share among has nobody left to take them
        _fail(job, " ".join(exc.messages))
        return job
    except Exception as exc:
        _fail(job, _("The import stopped unexpectedly; run it again to resume."))
        raise exc
    finally:
        if ahead is not None:
            ahead.close()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, finished_at=timezone.now()
    )
    job.refresh_from_db()
    audit.record(
        "import.finished",
        obj=job,
        user=user,
        data={
            "created": job.rows_created,
            "updated": job.rows_updated,
            "unchanged": job.rows_unchanged,
            "rejected": job.rows_rejected,
            "values_left_out": job.values_left_out,
        },
    )
    if job.rows_created + job.rows_updated >= ANALYZE_MIN_ROWS:
        try:
            bulk.analyze(*kind.tables)
        except DatabaseError:  # the import is done: fresh statistics can wait for the next
            logger.warning("Could not refresh the statistics after import %s", job.pk, exc_info=True)
    return job


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED, errors=[*job.errors, message]
    )
    job.refresh_from_db()


def _cleaned_batches(
    job: ImportJob,
    table: readers.Table,
    clean: cleaning.RowCleaner,
    size: int,
    ahead: readahead.ReadAhead | None,
) -> Iterator[batches.Batch]:
    """Each batch after the job's checkpoint, `size` rows at a time: cleaned here until the
    read-ahead process is ready, by it (new records drafted too, on SQLite) from then on."""
    rows: list[tuple[int, list[str]]] = []
    for number, values in table.rows():
        if number <= job.checkpoint:
            continue
        rows.append((number, values))
        if len(rows) < size:
            continue
        if ahead is not None and ahead.ready():
            # `rows` was read but not written: the child starts again from the checkpoint.
            yield from ahead.batches(after=job.checkpoint)
            return
        yield _batch(rows, clean)
        rows = []
    if rows:
        yield _batch(rows, clean)


def _batch(rows: list[tuple[int, list[str]]], clean: cleaning.RowCleaner) -> batches.Batch:
    """A batch cleaned here; its new records are drafted by the writer (`kinds.Drafts`)."""
    return [n for n, _ in rows], [clean(values) for _, values in rows], None


def _read_ahead(job: ImportJob, batch_size: int) -> readahead.ReadAhead | None:
    try:
        return readahead.ReadAhead(_read_ahead_plan(job, batch_size))
    except OSError:  # no process to be had (a limit on processes): clean everything here
        return None


def _read_ahead_plan(job: ImportJob, batch_size: int) -> readahead.Plan:
    organization = job.created_by.organization
    return readahead.Plan(
        path=job.source.path,
        name=job.original_name,
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheet=job.sheet,
        header_row=job.header_row,
        kind=job.kind,
        columns=list(job.mapping),
        region=organization.phone_region or "CN",
        day_first=job.day_first,
        time_zone=organization.time_zone,
        language=translation.get_language(),
        batch_size=batch_size,
        organization_id=job.organization_id,
        actor_id=job.created_by_id,
        job_id=job.pk,
        vendor=connection.vendor,
    )


def rejected_rows_file(*, job: ImportJob) -> bytes:
    """The rejected rows as a CSV to fix and import again: the original columns, the row
    number in the original file first and the problems last. UTF-8 with a BOM, which Excel
    needs to show Chinese correctly."""
    reasons: dict[int, list[str]] = defaultdict(list)
    refused: set[int] = set()  # the rows not imported; the others came in without a value
    for row, column, reason, kept in job.rejections.order_by("row").values_list(
        "row", "column", "reason", "kept"
    ):
        reasons[row].append(f"{column}: {reason}" if column else reason)
        if not kept:
            refused.add(row)
    table = job_table(job)
    out = io.StringIO()
    writer = csv.writer(out)
    # The reasons were written in the language the import ran in (its uploader's), so the
    # file's own headings are too.
    # Every cell from the user's file (and the reasons, which quote them) is neutralised as
    # in a CSV export: the file is opened in a spreadsheet to be fixed.
    neutralise = exports.neutralise
    with translation.override(job.language or job.organization.language or None):
        writer.writerow([_("Row"), _("Imported"), *map(neutralise, table.headers), _("Problems")])
        imported = {False: _("no"), True: _("yes, without these values")}
        separator = pgettext("list separator", "; ")
    if reasons:
        for number, values in table.rows():
            if number in reasons:
                writer.writerow([
                    number, imported[number not in refused], *map(neutralise, values),
                    neutralise(separator.join(reasons[number])),
                ])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")

