"""Setting up the demo organisation and filling it with generated data.

`demo_load` is idempotent: with a demo organisation already there it only returns the
logins, unless asked to reset, which deletes that organisation and everything in it first.
"""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction

from patron.accounts.models import Team, User
from patron.accounts.services import team_create, user_create
from patron.activities.models import Interaction, Task
from patron.audit import services as audit
from patron.catalog.models import Product
from patron.common import bulk, tenancy
from patron.customers.models import Contact, Customer
from patron.demo import generator, loader
from patron.demo.columns import STR, Table
from patron.orders.models import Order, OrderLine
from patron.organizations import services as organization_services
from patron.organizations.models import Counter, Organization
from patron.sales.models import Lead, Opportunity, Pipeline, Stage

DEMO_SLUG = "demo"
DEMO_PASSWORD = "patron-demo"  # noqa: S105 - printed on purpose for a throw-away demo


@dataclass(frozen=True)
class Login:
    username: str
    display_name: str
    role: str
    team: str  # key into TEAMS, "" for none
    group: str = ""  # the regions a rep covers: "east" / "north"


TEAMS = {"east": ("East China 华东", None), "shanghai": ("Shanghai 上海", "east"),
         "north": ("North China 华北", None)}
LOGINS = (
    Login("admin", "管理员 Admin", "admin", ""),
    Login("manager", "周强 Zhou Qiang", "sales_manager", "east"),
    Login("wang.lei", "王磊 Wang Lei", "sales_rep", "east", "east"),
    Login("li.na", "李娜 Li Na", "sales_rep", "east", "east"),
    Login("zhao.min", "赵敏 Zhao Min", "sales_rep", "shanghai", "east"),
    Login("chen.jie", "陈杰 Chen Jie", "sales_rep", "north", "north"),
    Login("liu.yang", "刘洋 Liu Yang", "sales_rep", "north", "north"),
    Login("marketer", "孙丽 Sun Li", "marketer", ""),
    Login("service", "吴静 Wu Jing", "service", ""),
    Login("viewer", "郑华 Zheng Hua", "viewer", ""),
)
# Write order: parents before children where it can be (opportunities and their leads point at
# each other; the load checks references in bulk, see `loader.sqlite_bulk_mode`).
TABLES: tuple[tuple[str, type[models.Model]], ...] = (
    ("customers", Customer), ("contacts", Contact), ("opportunities", Opportunity),
    ("leads", Lead), ("orders", Order), ("order_lines", OrderLine),
    ("interactions", Interaction), ("tasks", Task),
)


@dataclass
class DemoResult:
    organization: Organization
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def logins_table() -> list[tuple[str, str, str, str]]:
    """(username, password, role, team) for every demo login."""
    return [(x.username, DEMO_PASSWORD, x.role, TEAMS[x.team][0] if x.team else "—")
            for x in LOGINS]


def demo_load(
    *, customers: int, seed: int = 42, today: dt.date | None = None, reset: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Create the demo organisation with `customers` generated customers, unless it exists."""
    with tenancy.unscoped():
        existing = Organization.objects.filter(slug=DEMO_SLUG).first()
    if existing and not reset:
        return DemoResult(organization=existing, created=False)
    if existing:
        demo_delete(organization=existing)
    organization, staff = _setup()
    result = DemoResult(organization=organization, created=True)
    with tenancy.scope(organization):
        _fill(result, staff, customers=customers, seed=seed, today=today or organization.today(),
              progress=progress or (lambda _: None))
        # One summary entry for the whole load: an entry per generated row would double the
        # rows written and tell nobody anything.
        audit.record("demo.loaded", obj=organization_services.AuditTarget(organization), user=None,
                     data={"seed": seed, "counts": result.counts})
    bulk.analyze(Customer, Contact, Order, OrderLine, Interaction, Task, Lead, Opportunity)
    return result


@transaction.atomic
def _setup() -> tuple[Organization, generator.Staff]:
    with tenancy.unscoped():
        org = organization_services.organization_create(
            name="Patron Demo", slug=DEMO_SLUG, time_zone="Asia/Shanghai", currency="CNY",
            language="zh-hans",
        )
    with tenancy.scope(org):
        teams: dict[str, Team] = {}
        for key, (name, parent) in TEAMS.items():
            teams[key] = team_create(organization=org, name=name,
                                     parent=teams[parent] if parent else None)
        users = {
            x.username: user_create(
                organization=org, username=x.username, password=None, roles=[x.role],
                team=teams.get(x.team), display_name=x.display_name,
                email=f"{x.username}@demo.patron.local",
            )
            for x in LOGINS
        }
        # One hash for the shared demo password: hashing is slow on purpose, ten times over
        # it would dominate a small demo load (and the test suite).
        User.objects.filter(organization=org).update(password=make_password(DEMO_PASSWORD))
        products = generator.product_rows(np.random.default_rng([0, org.pk.int % 2**63]))
        now = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
        products["created_at"] = products["updated_at"] = np.full(len(products["id"]), now)
        loader.write(Product, products, organization_id=org.pk)
        return org, _staff(org, users, products)


def _staff(org: Organization, users: dict[str, User], products: Table) -> generator.Staff:
    reps = [x for x in LOGINS if x.role == "sales_rep"]
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position"))
    if [s.outcome for s in stages] != ["open"] * 4 + ["won", "lost"]:
        raise RuntimeError("the demo expects a default pipeline of four open stages, won, lost")
    hexes = lambda values: np.array([v.hex for v in values], dtype=STR)  # noqa: E731
    return generator.Staff(
        rep_ids=hexes([users[x.username].pk for x in reps]),
        rep_team_ids=hexes([users[x.username].team_id for x in reps]),
        rep_groups=np.array([x.group for x in reps], dtype=STR),
        pipeline_id=pipeline.pk.hex,
        stage_ids=hexes([s.pk for s in stages]),
        stage_probability=np.array([s.probability for s in stages]),
        stage_outcome=np.array([s.outcome for s in stages], dtype=STR),
        product_ids=products["id"],
        utc_offset_hours=8,  # Asia/Shanghai has no daylight saving time
    )


def _fill(result: DemoResult, staff: generator.Staff, *, customers: int, seed: int,
          today: dt.date, progress: Callable[[str], None]) -> None:
    org = result.organization
    pools = generator.Pools.build()
    first = Counter.take(org.pk, "customer", count=customers) if customers else 1

    def numbering(key: str, count: int) -> int:
        return Counter.take(org.pk, key, count=count) if count else 1

    # One transaction: the load is all or nothing, so a failed load leaves no half demo.
    # SQLite's foreign keys and journal are switched outside it (it ignores both inside one).
    with (
        loader.sqlite_bulk_mode() as sqlite_unchecked,
        transaction.atomic(),
        loader.reference_triggers_off() as postgres_unchecked,
        loader.secondary_indexes_deferred([model for _, model in TABLES]),
    ):
        for index, start in enumerate(range(0, customers, generator.CHUNK)):
            size = min(generator.CHUNK, customers - start)
            began = time.perf_counter()
            tables = generator.generate_chunk(
                seed=seed, index=index, size=size, first_customer=first + start, staff=staff,
                pools=pools, today=today, numbering=numbering, id_salt=org.pk.int % 2**63,
            )
            _add_search_text(tables)
            _clock(result, "generate", began)
            # SQLite checks each chunk's references once it is written, while its pages are
            # in cache; PostgreSQL checks them all at the end with hash joins.
            marks = {m: loader.last_rowid(m) for _, m in TABLES} if sqlite_unchecked else {}
            for name, model in TABLES:
                began = time.perf_counter()
                rows = loader.write(model, tables[name], organization_id=org.pk)
                result.counts[name] = result.counts.get(name, 0) + rows
                _clock(result, name, began)
            del tables
            began = time.perf_counter()
            for model, mark in marks.items():
                loader.verify_references(model, organization_id=org.pk, after_rowid=mark)
            _clock(result, "verify", began)
            progress(f"{start + size:,} of {customers:,} customers")
        began = time.perf_counter()
        if postgres_unchecked:
            for _, model in TABLES:
                loader.verify_references(model, organization_id=org.pk)
        _clock(result, "verify", began)
        began = time.perf_counter()
    _clock(result, "indexes_and_commit", began)  # the deferred indexes are built here


def _clock(result: DemoResult, step: str, began: float) -> None:
    result.seconds[step] = result.seconds.get(step, 0.0) + time.perf_counter() - began


class _Fields:
    """Just the attributes `build_search_text` reads, so the model's own formula is used."""

    __slots__ = ("company_name", "email", "name", "number", "phone")


def _add_search_text(tables: dict[str, Table]) -> None:
    for name, model in (("customers", Customer), ("leads", Lead)):
        table, row, texts = tables[name], _Fields(), []
        for values in zip(*(table[f].tolist() for f in _Fields.__slots__), strict=True):
            row.company_name, row.email, row.name, row.number, row.phone = values
            texts.append(model.build_search_text(row)["search_text"])
        table["search_text"] = np.array(texts, dtype=STR)


def demo_delete(*, organization: Organization) -> None:
    """Delete an organisation and every row that belongs to it, with one DELETE per table.

    The ORM's cascade would load millions of rows to delete them one by one. Rows of models
    without an organisation column (many-to-many links, tokens) that point at the
    organisation's rows go first; foreign keys are deferred, so the order is otherwise free.
    """
    owned = [m for m in apps.get_models(include_auto_created=True)
             if any(f.name == "organization" and f.related_model is Organization
                    for f in m._meta.concrete_fields)]
    key = organization.pk.hex if connection.vendor == "sqlite" else organization.pk
    quote = connection.ops.quote_name
    # Skipping the per-row checks is safe here: nothing is left pointing at deleted rows.
    with transaction.atomic(), loader.reference_triggers_off(), connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model in owned or model is Organization:
                continue
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model in owned:
                    target = f.related_model._meta
                    # Identifiers from model metadata only.
                    cursor.execute(
                        f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(f.column)} IN "  # noqa: S608
                        f"(SELECT {quote(target.pk.column)} FROM {quote(target.db_table)} "
                        f"WHERE organization_id = %s)", [key],
                    )
        for model in owned:
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} WHERE organization_id = %s", [key]  # noqa: S608
            )
        cursor.execute(
            f"DELETE FROM {quote(Organization._meta.db_table)} WHERE id = %s", [key]  # noqa: S608
        )
