"""What each kind of import writes: how a row is checked, matched to an existing record and
written in bulk. The engine in services.py drives these one batch at a time.

Matching: every kind keeps an in-memory index from identifying keys to primary keys, loaded
once per run from the database (so a resumed run sees what landed before the crash) and
extended as rows are created (so a row repeated in the file updates the first, instead of
creating a twin).
"""

import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from patron.accounts import permissions
from patron.accounts.capabilities import Scope
from patron.audit import services as audit
from patron.catalog.models import Product
from patron.common import bulk, standardize, tenancy
from patron.common.models import search_text_of
from patron.customers.models import Contact, Customer, Source, Tag
from patron.imports import cleaning
from patron.orders import services as order_services
from patron.orders.models import Order, OrderLine
from patron.organizations.models import Counter
from patron.sales.models import Lead

Key = tuple[str, str]
Problem = tuple[str, str]


# The owner of a new record shared in turn, until the record is built.
IN_TURN = object()


@dataclass
class Context:
    """What every row of one run needs: who imports, for whom, and how to read values."""

    user: Any
    organization_id: Any
    job_id: Any
    key_field: str
    owner_rule: str
    region: str = "CN"
    day_first: bool = False
    tz: dt.tzinfo = dt.UTC
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    users: dict[str, Any] = field(default_factory=dict)
    # Who new records go to in turn (owner rule "team").
    members: list[Any] = field(default_factory=list)
    index: dict[Key, Any] = field(default_factory=dict)
    owners: dict[Any, tuple[Any, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # How the kind makes new records' rows ahead of their write (`Drafts`), for kinds that do.
    drafts: Any = None


@dataclass
class Pending:
    """One accepted row on its way to the database: a create (pk None) or an update."""

    row: int
    data: dict[str, Any]
    pk: Any = None
    keys: list[Key] = field(default_factory=list)
    draft: "Draft | None" = None
    changed: bool = False  # an update that changed its record (set by the kind's write)


def _cached(function: Any) -> Any:
    return functools.lru_cache(maxsize=100_000)(function)


def _birthday(value: str, *, day_first: bool, today: dt.date) -> dt.date | None:
    return standardize.check_birthday(standardize.parse_date(value, day_first=day_first), today=today)


def _scope_allows(user: Any, capability: str, owner_id: Any, team_id: Any) -> bool:
    return permissions.in_scope(user, user.scope_for(capability), owner_id, team_id)


def _search_text(row: dict[str, Any]) -> str:
    """`search_text_of` for a new row but its number (which the write adds in front),
    without the model's character-by-character digit filter: imported phones are E.164
    already, "+" then digits. (A test holds the two equal.)"""
    phone = row.get("phone", "")
    tail = phone[1:]
    digits = tail if phone[:1] == "+" and tail.isdigit() else "".join(filter(str.isdigit, phone))
    parts = (row["name"], row.get("company_name", ""), digits, row.get("email", ""))
    return " ".join(filter(None, parts)).lower()  # one lower() a row, not one a part


# New records drafted at once by the writer, between two pieces it streams to the database.
_DRAFT_PIECE = 500
# A new record made ahead of its write: its key (as an integer, which crosses from the
# read-ahead process at a third of the cost of a UUID), its columns but `Drafts.TAIL`
# (encoded), its search text but its number, and its audit entry but its time.
Draft = tuple[int, list, str, list]


class Drafts:
    """New customers' and leads' rows and audit entries, made ahead of their write.

    In a large import into SQLite they are made in the read-ahead process, on the other core
    (`readahead`): the writer's thread is SQLite's only one, and building and encoding rows
    was about half of the Python on it (19 s of 33 s, in 81 s, at a million rows). The writer
    adds what only it knows (`TAIL`): the number it takes from the organisation's counter in
    the batch's transaction, the owner that number gives when records go round a team, the
    time, and the search text, which starts with the number.
    """

    TAIL = ("number", "owner_id", "owner_team_id", "pooled_at", "search_text", "created_at", "updated_at")

    def __init__(self, kind: "OwnedPeopleKind", *, organization_id: Any, actor_id: Any, job_id: Any) -> None:
        if kind.model.build_search_text is not search_text_of:
            raise TypeError(f"{kind.model.__name__} has a search text of its own")
        self.kind = kind
        self.organization_id = organization_id
        self.layout = bulk.RowLayout(kind.model, self.TAIL)
        self.entries = audit.BulkEntries(
            f"{kind.audit_prefix}.imported", actor_id=actor_id, data={"import": job_id}
        )
        self.object_type = kind.model._meta.label_lower

    def __call__(self, cleaned: list[tuple[dict[str, Any], list[Problem]]]) -> list[Draft | None]:
        """The drafts of a batch's cleaned rows (None for a row that will be rejected)."""
        lenient, complete = self.kind.lenient_fields, self.kind.complete
        accepted = [
            not any(f not in lenient for f, _reason in problems) and not complete(data)
            for data, problems in cleaned
        ]
        made = iter(self.many([data for ok, (data, _p) in zip(accepted, cleaned, strict=True) if ok]))
        return [next(made) if ok else None for ok in accepted]

    def many(self, rows: list[dict[str, Any]]) -> list[Draft]:
        values = [self.kind.new_values(data) for data in rows]
        keys = bulk.ordered_uuids(len(values))
        org = self.organization_id
        for pk, row in zip(keys, values, strict=True):
            row["id"], row["organization_id"] = pk, org
        entries = self.entries.drafts([(org, self.object_type, row["id"], row["name"]) for row in values])
        head = self.layout.head
        return [
            (row["id"].int, head(row), _search_text(row), entry)
            for row, entry in zip(values, entries, strict=True)
        ]

    def finish(self, pending: Pending, number: int, ctx: Context, now: Any) -> list:
        """The row of `pending`'s draft, numbered `number`, as the database takes it."""
        owner = pending.data["_owner"]
        if owner is IN_TURN:
            # By the record's number: new records go round the members evenly, and a resumed
            # run gives the records it writes again the same owners.
            owner = pending.data["_owner"] = ctx.members[number % len(ctx.members)]
        text = f"{self.kind.prefix}{number:0{self.kind.digits}d}"
        search = pending.draft[2]
        return pending.draft[1] + self.layout.tail((
            text,
            owner.pk if owner else None,
            owner.team_id if owner else None,
            None if owner else ctx.now,
            f"{text.lower()} {search}" if search else text.lower(),
            now,
            now,
        ))


def _changed_fields(kind: Any, updates: list[Pending], ctx: Context) -> list[list[str]]:
    """For the preview: the names of the fields each of these rows would change (by row, not
    by record: two rows may update one record differently), as the kind's `changes` says."""
    objs = _records(kind.model, [p.pk for p in updates], ctx)
    return [list(kind.changes(p, objs[p.pk])) if p.pk in objs else [] for p in updates]


def _records(model: type, pks: list[Any], ctx: Context) -> dict[Any, Any]:
    """The records with these primary keys, by key, from the organisation importing.

    Looked up by key alone, the organisation checked here: SQLite's planner, without
    statistics, read `organization_id = ? AND id IN (...)` through an index that starts with
    the organisation, that is every customer of the organisation once per batch, which made
    large imports quadratic.
    """
    with tenancy.unscoped():
        found = model.objects.in_bulk(pks)
    return {pk: obj for pk, obj in found.items() if obj.organization_id == ctx.organization_id}


class OwnedPeopleKind:
    """Customers and leads: people (or companies) with a phone and e-mail, owned by a rep."""

    model: type = Customer
    resource = "customers"
    counter = "customer"
    prefix = "C"
    digits = 6
    fields = ("name", "company_name", "phone", "email", "wechat", "region", "industry", "source")
    key_fields = ("", "phone", "email", "number")
    # Fields a row is imported without when their value cannot be read (a birthday with no
    # year), rather than losing the person for it; said beside the row's number.
    lenient_fields: frozenset[str] = frozenset({"birthday"})
    audit_prefix = "customer"
    # The tables an import of this kind grows (their statistics are refreshed after).
    tables: tuple[type, ...] = (Customer,)

    def cleaners(self, ctx: Context) -> dict[str, Any]:
        text = cleaning.clean_text
        return {
            "name": cleaning.clean_person_name,
            "company_name": partial(text, max_length=200),
            "title": partial(text, max_length=100),
            "wechat": partial(text, max_length=64),
            "industry": partial(text, max_length=60),
            "city": partial(text, max_length=60),
            "address": partial(text, max_length=300),
            "id_number": partial(text, max_length=32),
            "family_name": partial(text, max_length=100),
            "given_name": partial(text, max_length=100),
            "contact_name": cleaning.clean_person_name,
            "contact_title": partial(text, max_length=100),
            "phone": partial(cleaning.clean_phone, region=ctx.region),
            "contact_phone": partial(cleaning.clean_phone, region=ctx.region),
            "email": cleaning.clean_email,
            "contact_email": cleaning.clean_email,
            # Columns with few distinct values (provinces, dates, kinds) are cleaned once per value.
            "region": _cached(lambda v: standardize.canonical_region(v)[:60]),
            "birthday": _cached(partial(_birthday, day_first=ctx.day_first, today=dt.datetime.now(ctx.tz).date())),
            "kind": _cached(cleaning.clean_kind),
            "source": _cached(cleaning.clean_source),
            "estimated_value": cleaning.clean_amount,
        }

    def check(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        return self.complete(data) or self.assign_owner(data, ctx)

    def complete(self, data: dict[str, Any]) -> list[Problem]:
        """Fill what a row implies (a name from its parts or its company), or say what it
        lacks. Needs nothing of the run, so the read-ahead process does it too; doing it again
        changes nothing."""
        if not data.get("name") and (data.get("family_name") or data.get("given_name")):
            family, given = data.get("family_name", ""), data.get("given_name", "")
            joined = f"{given} {family}" if (family + given).isascii() else family + given
            data["name"] = joined.strip()
        if not data.get("name"):
            if not data.get("company_name"):
                return [("name", _("A name is required."))]
            data["name"] = data["company_name"]
        return []

    def assign_owner(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        owner = ctx.user
        if ctx.owner_rule == "pool":
            owner = None
        elif ctx.owner_rule == "team":
            owner = IN_TURN  # chosen when the record is built (updates keep their owner)
        elif ctx.owner_rule == "column" and data.get("owner"):
            owner = ctx.users.get(standardize.clean_name(data["owner"]).lower())
            if owner is None:
                return [("owner", _("No user called %(v)s.") % {"v": data["owner"]})]
            if owner.pk != ctx.user.pk and not _scope_allows(
                ctx.user, f"{self.resource}.transfer", owner.pk, owner.team_id
            ):
                return [("owner", _("You may not give records to %(v)s.") % {"v": owner})]
        data["_owner"] = owner
        return []

    def keys(self, data: dict[str, Any], ctx: Context) -> list[Key]:
        if ctx.key_field and data.get(ctx.key_field):
            return [(ctx.key_field, data[ctx.key_field])]
        # No key chosen, or the row's key cell is empty (a new customer without a number yet,
        # a person without e-mail): matched as without a key, on phone, else e-mail, else name.
        # With no key at all the row would create a record every time it is imported, a twin
        # of the one its phone names.
        keys = [(name, data[name]) for name in ("phone", "email") if data.get(name)]
        return keys or [("name", data["name"].lower())]

    def index_keys(self, data: dict[str, Any], ctx: Context) -> list[Key]:
        """Every key a later row may find the record of this row by, as `load_index` files a
        record already there: a row of the same file without its key cell is matched on its
        phone, and must find the customer an earlier row made with that phone and a key."""
        if not ctx.key_field:  # rows match on their phone, e-mail or name: their keys already
            return []
        keys = [(name, data[name]) for name in ("phone", "email", "number") if data.get(name)]
        if not data.get("phone") and not data.get("email"):
            keys.append(("name", data["name"].lower()))
        return keys

    def load_index(self, ctx: Context) -> None:
        # Oldest first: when several records share a key, the import updates the oldest one,
        # the same on every database.
        rows = self.model.objects.order_by("created_at", "pk").values_list(
            "pk", "phone", "email", "number", "name", "owner_id", "owner_team_id"
        )
        for pk, phone, email, number, name, owner_id, team_id in rows.iterator(chunk_size=5000):
            for key in (("phone", phone), ("email", email), ("number", number)):
                if key[1]:
                    ctx.index.setdefault(key, pk)
            if not phone and not email:
                ctx.index.setdefault(("name", name.lower()), pk)
            ctx.owners[pk] = (owner_id, team_id)

    def may_update(self, pk: Any, ctx: Context) -> bool:
        return _scope_allows(ctx.user, f"{self.resource}.change", *ctx.owners[pk])

    def model_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        wanted = self.field_names
        return {k: v for k, v in data.items() if k in wanted and v not in (None, "")}

    @functools.cached_property
    def field_names(self) -> frozenset[str]:
        return frozenset(self.fields)

    def new_values(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new record's values from its row, but those of `Drafts.TAIL`."""
        row = self.model_fields(data)
        row.setdefault("source", Source.IMPORT)
        return row

    def drafts(self, *, organization_id: Any, actor_id: Any, job_id: Any) -> "Drafts":
        return Drafts(self, organization_id=organization_id, actor_id=actor_id, job_id=job_id)

    def write(
        self, creates: list[Pending], updates: list[Pending], ctx: Context
    ) -> tuple[list, list]:
        """Insert the creates (from their drafts) with their audit entries, update the
        updates; return ([], the records updated): the creates' entries are written here."""
        if creates:
            drafts: Drafts = ctx.drafts
            first = Counter.take(ctx.organization_id, self.counter, count=len(creates))
            now = timezone.now()

            def rows() -> Iterator[list]:
                # Made as they are inserted: on PostgreSQL the server stores the first rows
                # while the later ones are made. Drafts not made ahead (PostgreSQL, small
                # files, a row that took in a repeat of it) are made here, a piece at a time.
                for start in range(0, len(creates), _DRAFT_PIECE):
                    piece = creates[start : start + _DRAFT_PIECE]
                    wanting = [p for p in piece if p.draft is None]
                    if wanting:
                        made = drafts.many([p.data for p in wanting])
                        for pending, draft in zip(wanting, made, strict=True):
                            pending.draft = draft
                    for i, pending in enumerate(piece, start):
                        yield drafts.finish(pending, first + i, ctx, now)

            bulk.insert_encoded(drafts.layout, rows())
            drafts.entries.write([p.draft[3] for p in creates])
            for pending in creates:
                owner = pending.data["_owner"]
                pending.pk = uuid.UUID(int=pending.draft[0])
                ctx.owners[pending.pk] = (owner.pk, owner.team_id) if owner else (None, None)
        updated = self.update(updates, ctx)
        # A row that only adds a contact or a tag changes its record too: audited and counted
        # as an update, not as unchanged.
        self.after_write(creates, updates, ctx)  # marks the rows it added something for (`Pending.changed`)
        grown = {p.pk for p in updates if p.changed} - {obj.pk for obj in updated}
        if grown:
            updated += _records(self.model, list(grown), ctx).values()
        return [], updated

    def update(self, updates: list[Pending], ctx: Context) -> list:
        """Write the fields a row brings that differ from the record; empty cells keep what
        the record has."""
        if not updates:
            return []
        objs = _records(self.model, [p.pk for p in updates], ctx)
        touched: dict[Any, dict[str, Any]] = {}
        for pending in updates:  # against the record as the rows above left it: a row repeating
            obj = objs[pending.pk]  # the values of one above it changes nothing
            for name, value in self.changes(pending, obj).items():
                setattr(obj, name, value)
                touched.setdefault(obj.pk, {})[name] = value
                pending.changed = True
        for pk, values in touched.items():
            values.update(self.model.build_search_text(objs[pk]))
        bulk.update_rows(self.model, [(ctx.organization_id, pk, v) for pk, v in touched.items()])
        return [objs[pk] for pk in touched]

    def changes(self, pending: Pending, obj: Any) -> dict[str, Any]:
        """The fields a row would change on the record it matches: those it brings that differ
        (an empty cell keeps what the record has; the source stays the record's)."""
        return {name: value for name, value in self.model_fields(pending.data).items()
                if name != "source" and getattr(obj, name) != value}

    def changed_fields(self, updates: list[Pending], ctx: Context) -> list[list[str]]:
        return _changed_fields(self, updates, ctx)

    def after_write(self, creates: list[Pending], updates: list[Pending], ctx: Context) -> None:
        """Write what the rows bring beside their records' own fields, marking each row that
        added something to its record as changed."""


# A name that is a company's whatever the file says ("北京远航科技有限公司", "Acme Trading Ltd").
_COMPANY_NAME = re.compile(
    r"(?:公司|集团|商行|工作室|事务所|研究所|合作社|门市部|[^\W\d_]{3}店|[^\W\d_]{3}厂"
    r"|\b(?:ltd|limited|inc|llc|corp|corporation|gmbh)\.?)$",
    re.IGNORECASE,
)


class CustomerKind(OwnedPeopleKind):
    fields = (
        *OwnedPeopleKind.fields, "title", "kind", "city", "address", "id_number", "birthday", "notes"
    )
    tables = (Customer, Contact)

    def complete(self, data: dict[str, Any]) -> list[Problem]:
        if data.get("contact_title") and not data.get("contact_name") and not data.get("title"):
            # A job title with no contact person to hold it is the customer's own.
            data["title"] = data.pop("contact_title")
        return super().complete(data)

    def new_values(self, data: dict[str, Any]) -> dict[str, Any]:
        row = super().new_values(data)
        if not row.get("kind"):  # only for new customers: an update keeps the kind it has
            is_company = (
                bool(data.get("contact_name"))
                or data["name"] == data.get("company_name")
                or bool(_COMPANY_NAME.search(data["name"]))
            )
            row["kind"] = Customer.Kind.COMPANY if is_company else Customer.Kind.PERSON
        return row

    def after_write(self, creates: list[Pending], updates: list[Pending], ctx: Context) -> None:
        self._contacts(creates + updates, ctx)
        self._tags(creates, updates, ctx)

    def _contacts(self, written: list[Pending], ctx: Context) -> None:
        wanted = [p for p in written if p.data.get("contact_name")]
        if not wanted:
            return
        known = {
            (cid, name.lower())
            for cid, name in Contact.objects.filter(
                customer_id__in=[p.pk for p in wanted]
            ).values_list("customer_id", "name")
        }
        contacts = []
        for p in wanted:
            if (p.pk, p.data["contact_name"].lower()) in known:
                continue
            known.add((p.pk, p.data["contact_name"].lower()))
            p.changed = True
            contacts.append(
                Contact(
                    organization_id=ctx.organization_id,
                    customer_id=p.pk,
                    name=p.data["contact_name"],
                    title=p.data.get("contact_title", ""),
                    phone=p.data.get("contact_phone", ""),
                    email=p.data.get("contact_email", ""),
                    is_primary=True,
                )
            )
        Contact.objects.bulk_create(contacts, batch_size=500)

    def _tags(self, creates: list[Pending], updates: list[Pending], ctx: Context) -> None:
        cache: dict[str, Any] = ctx.extra.setdefault("tags", {})
        links = []
        tagged = [p for p in updates if p.data.get("tags")]
        # The tags the records already have: linking one again adds nothing.
        had = set(Customer.tags.through.objects.filter(customer_id__in=[p.pk for p in tagged])
                  .values_list("customer_id", "tag_id")) if tagged else set()
        for p in creates + updates:
            for name in filter(
                None, re.split(r"\s*[,，、;；|]\s*", p.data.get("tags", "").strip())
            ):
                name = standardize.clean_name(name)[:60]
                if name not in cache:
                    cache[name] = Tag.objects.get_or_create(
                        organization_id=ctx.organization_id, name=name
                    )[0].pk
                if (p.pk, cache[name]) not in had:
                    had.add((p.pk, cache[name]))
                    p.changed = True
                    links.append(Customer.tags.through(customer_id=p.pk, tag_id=cache[name]))
        Customer.tags.through.objects.bulk_create(links, ignore_conflicts=True)


class LeadKind(OwnedPeopleKind):
    model = Lead
    tables = (Lead,)
    resource = "leads"
    counter = "lead"
    prefix = "L"
    fields = (*OwnedPeopleKind.fields, "title", "estimated_value")
    audit_prefix = "lead"

    def check(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        from patron.sales import services

        try:  # the lead service's rule, so that a file and a page agree
            services.check_amounts(data)
        except ValidationError as error:
            return [(field, message) for field, messages in error.message_dict.items() for message in messages]
        return super().check(data, ctx)


class ProductKind:
    """Products, matched by SKU; they have no owner."""

    model = Product
    resource = "products"
    fields = ("name", "category", "price", "currency")
    key_fields = ("sku",)
    lenient_fields: frozenset[str] = frozenset()
    audit_prefix = "product"
    tables = (Product,)

    def cleaners(self, ctx: Context) -> dict[str, Any]:
        return {
            "sku": partial(cleaning.clean_text, max_length=60),
            "name": partial(cleaning.clean_text, max_length=200),
            "category": partial(cleaning.clean_text, max_length=100),
            "price": cleaning.clean_amount,
            "currency": lambda v: v.strip().upper()[:3],
        }

    def check(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        problems = [(f, _("This field is required.")) for f in ("sku", "name") if not data.get(f)]
        if data.get("price") is not None and data["price"] < 0:
            problems.append(("price", _("The price cannot be negative.")))
        return problems

    def keys(self, data: dict[str, Any], ctx: Context) -> list[Key]:
        return [("sku", data["sku"].upper())]

    def load_index(self, ctx: Context) -> None:
        for pk, sku in Product.objects.values_list("pk", "sku"):
            ctx.index[("sku", sku.upper())] = pk

    def may_update(self, pk: Any, ctx: Context) -> bool:
        return ctx.user.scope_for("products.change") >= Scope.ORGANIZATION

    def write(
        self, creates: list[Pending], updates: list[Pending], ctx: Context
    ) -> tuple[list, list]:
        created = [
            Product(
                organization_id=ctx.organization_id,
                sku=p.data["sku"],
                **{k: p.data[k] for k in self.fields if p.data.get(k) not in (None, "")},
            )
            for p in creates
        ]
        Product.objects.bulk_create(created, batch_size=500)
        for pending, obj in zip(creates, created, strict=True):
            pending.pk = obj.pk
        found = Product.objects.in_bulk([p.pk for p in updates])
        objs = {}
        for p in updates:
            product = found[p.pk]
            for k in self.fields:
                if p.data.get(k) not in (None, "") and getattr(product, k) != p.data[k]:
                    setattr(product, k, p.data[k])
                    objs[p.pk], p.changed = product, True  # a row that changes nothing leaves it be
        if objs:
            Product.objects.bulk_update(list(objs.values()), [*self.fields, "updated_at"])
        return created, list(objs.values())


# How a row of orders names its customer: the customers' keys and the fields that give them.
_CUSTOMER_COLUMNS = (("number", "customer_number"), ("phone", "customer_phone"), ("email", "customer_email"))


def _natural(customer_id: Any, ordered_at: dt.datetime, total: Decimal) -> str:
    return f"{customer_id}|{ordered_at.astimezone(dt.UTC).isoformat()}|{total:.2f}"


class OrderKind:
    """Orders of existing customers, matched by the source system's reference, else by
    customer, time and amount; an optional SKU adds one order line."""

    model = Order
    resource = "orders"
    key_fields = ("external_ref", "")
    lenient_fields: frozenset[str] = frozenset()
    audit_prefix = "order"
    tables = (Order, OrderLine)

    def cleaners(self, ctx: Context) -> dict[str, Any]:
        return {
            "external_ref": partial(cleaning.clean_text, max_length=80),
            "customer_phone": partial(cleaning.clean_phone, region=ctx.region),
            "customer_email": cleaning.clean_email,
            "ordered_at": partial(standardize.parse_datetime, day_first=ctx.day_first, tz=ctx.tz),
            "total": cleaning.clean_amount,
            "quantity": cleaning.clean_quantity,
            "channel": cleaning.clean_channel,
            "status": cleaning.clean_status,
        }

    def check(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        problems = [
            (f, _("This field is required."))
            for f in ("ordered_at", "total")
            if data.get(f) is None
        ]
        customers = ctx.extra["customers"]
        found, data["_customer_field"] = next(
            (
                (customers[(key, data[name])], name)
                for key, name in _CUSTOMER_COLUMNS
                if data.get(name) and (key, data[name]) in customers
            ),
            (None, "customer_phone"),
        )
        if found is None:
            problems.append(("customer_phone", _("No customer matches this row.")))
        elif not _scope_allows(ctx.user, "orders.add", *ctx.extra["customer_owners"][found]):
            problems.append(("customer_phone", _("You may not add orders for this customer.")))
        data["_customer"] = found
        if data.get("sku") and data["sku"].upper() not in ctx.extra["products"]:
            problems.append(("sku", _("No product with SKU %(v)s.") % {"v": data["sku"]}))
        return problems + self._bounds(data, ctx)

    def _bounds(self, data: dict[str, Any], ctx: Context) -> list[Problem]:
        """The order service's bounds (`orders.services`), on the column that breaks them: the
        rows are written in bulk, not through `order_create`."""
        checks = []
        total, ordered_at = data.get("total"), data.get("ordered_at")
        if ordered_at is not None:
            checks.append(("ordered_at", lambda: order_services.order_time_check(ordered_at, now=ctx.now)))
        if total is not None:
            checks.append(("total", lambda: order_services.order_total_check(total)))
            if data.get("sku"):  # the line `_lines` writes
                quantity = data.get("quantity") or Decimal(1)
                unit_price = (total / quantity).quantize(Decimal("0.01"))
                checks.append(("quantity", lambda: order_services.order_line_check(
                    n=1, quantity=quantity, unit_price=unit_price, amount=total)))
        problems = []
        for column, check in checks:
            try:
                check()
            except ValidationError as error:
                problems.append((column, " ".join(error.messages)))
        return problems

    def keys(self, data: dict[str, Any], ctx: Context) -> list[Key]:
        # Named after the field, so that a refusal names the file's column of references.
        if data.get("external_ref"):
            return [("external_ref", data["external_ref"])]
        return [("natural", _natural(data["_customer"], data["ordered_at"], data["total"]))]

    def load_index(self, ctx: Context) -> None:
        customers: dict[Key, Any] = {}
        owners = {}
        for pk, phone, email, number, owner_id, team_id in Customer.objects.values_list(
            "pk", "phone", "email", "number", "owner_id", "owner_team_id"
        ).iterator(chunk_size=5000):
            for key in (("number", number), ("phone", phone), ("email", email)):
                if key[1]:
                    customers.setdefault(key, pk)
            owners[pk] = (owner_id, team_id)
        ctx.extra.update(
            customers=customers,
            customer_owners=owners,
            products={
                sku.upper(): (pk, price)
                for pk, sku, price in Product.objects.values_list("pk", "sku", "price")
            },
        )
        order_customers = ctx.extra["order_customers"] = {}
        for pk, ref, cid, at, total in Order.objects.values_list(
            "pk", "external_ref", "customer_id", "ordered_at", "total"
        ).iterator(chunk_size=5000):
            key = ("external_ref", ref) if ref else ("natural", _natural(cid, at, total))
            ctx.index[key] = pk
            order_customers[pk] = cid

    def may_update(self, pk: Any, ctx: Context) -> bool:
        """As `permissions.can(user, "change", order)`: an order is reached through its
        customer (`Order.visibility_paths`), whose owners are in memory for the whole run."""
        customer_id = ctx.extra["order_customers"][pk]
        return _scope_allows(ctx.user, "orders.change", *ctx.extra["customer_owners"][customer_id])

    def update_refusal(self, pending: Pending, key: Key, ctx: Context) -> Problem | None:
        """Why the row may not update the order it names, if it may not. A reference names
        one order of one customer: a row giving it with another customer is a mistake in the
        file (or a guess at someone else's reference), never a reason to move the order."""
        if not self.may_update(pending.pk, ctx):
            return (self._match_field(key, pending.data), _("It matches a record you may not change."))
        if ctx.extra["order_customers"][pending.pk] != pending.data["_customer"]:
            return (
                "external_ref",
                _("This reference is another customer's order; an import does not move an order to another customer."),
            )
        return None

    def repeat_refusal(self, first: Pending, repeat: Pending) -> Problem | None:
        """Why a row may not be merged into an earlier row of its batch with the same key: a
        reference the file gives twice with two customers (see `update_refusal`)."""
        if first.data["_customer"] != repeat.data["_customer"]:
            return ("external_ref", _("An earlier row gives this reference with another customer."))
        return None

    def _match_field(self, key: Key, data: dict[str, Any]) -> str:
        """The field of the row that matched: its reference, else the customer it names."""
        if key[0] == "external_ref":
            return "external_ref"
        return data.get("_customer_field", "customer_phone")

    def changes(self, pending: Pending, order: Order) -> dict[str, Any]:
        """The fields a row would change on the order it matches: its time and total, and its
        status when the row gives one."""
        data = pending.data
        wanted = {
            "ordered_at": data["ordered_at"], "total": data["total"], "status": data.get("status") or order.status
        }
        return {name: value for name, value in wanted.items() if getattr(order, name) != value}

    def changed_fields(self, updates: list[Pending], ctx: Context) -> list[list[str]]:
        return _changed_fields(self, updates, ctx)

    def write(
        self, creates: list[Pending], updates: list[Pending], ctx: Context
    ) -> tuple[list, list]:
        created = []
        if creates:
            first = Counter.take(ctx.organization_id, "order", count=len(creates))
            created = [
                Order(
                    organization_id=ctx.organization_id,
                    number=f"S{first + i:08d}",
                    customer_id=p.data["_customer"],
                    ordered_at=p.data["ordered_at"],
                    total=p.data["total"],
                    external_ref=p.data.get("external_ref", ""),
                    channel=p.data.get("channel") or Order.SalesChannel.DIRECT,
                    status=p.data.get("status") or Order.Status.PAID,
                    owner_id=ctx.user.pk,
                    owner_team_id=ctx.user.team_id,
                )
                for i, p in enumerate(creates)
            ]
            Order.objects.bulk_create(created, batch_size=500)
            for pending, obj in zip(creates, created, strict=True):
                pending.pk = obj.pk
                ctx.extra["order_customers"][obj.pk] = obj.customer_id  # a later batch may name it
            self._lines(creates, ctx)
        objs = {}
        found = _records(Order, [p.pk for p in updates], ctx)
        for p in updates:
            order = found[p.pk]
            changes = self.changes(p, order)
            if not changes:  # a row that changes nothing leaves the order (and its version) be
                continue
            p.changed = True
            for name, value in changes.items():
                setattr(order, name, value)
            order.version += 1
            objs[order.pk] = order
        if objs:
            Order.objects.bulk_update(
                list(objs.values()), ["total", "ordered_at", "status", "version"]
            )
            order_services.order_lines_follow(order_ids=list(objs))  # their time may have moved
        self._last_ordered({p.data["_customer"] for p in creates + updates})
        return created, list(objs.values())

    def _lines(self, creates: list[Pending], ctx: Context) -> None:
        lines = []
        for p in creates:
            if not p.data.get("sku"):
                continue
            product_id, _price = ctx.extra["products"][p.data["sku"].upper()]
            quantity = p.data.get("quantity") or Decimal(1)
            lines.append(
                OrderLine(
                    organization_id=ctx.organization_id,
                    order_id=p.pk,
                    customer_id=p.data["_customer"],
                    ordered_at=p.data["ordered_at"],
                    product_id=product_id,
                    quantity=quantity,
                    unit_price=(p.data["total"] / quantity).quantize(Decimal("0.01")),
                    amount=p.data["total"],
                )
            )
        OrderLine.objects.bulk_create(lines, batch_size=500)

    def _last_ordered(self, customer_ids: set) -> None:
        latest = (
            Order.objects.filter(customer_id=OuterRef("pk"))
            .values("customer_id")
            .annotate(m=Max("ordered_at"))
            .values("m")
        )
        Customer.objects.filter(pk__in=customer_ids).update(last_ordered_at=Subquery(latest))


KINDS: dict[str, Any] = {
    "customers": CustomerKind(),
    "leads": LeadKind(),
    "products": ProductKind(),
    "orders": OrderKind(),
}
