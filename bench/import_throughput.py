"""Import throughput: Patron's importer against django-import-export, same file, same model.

Generates a CSV of N customers with the mess real files have (phones written five ways and
some invalid, upper-case and broken e-mails, provinces as full names, short names, one-
character abbreviations and English, dates in Chinese and English formats, 2% repeated rows,
1% rows matching customers already in the database), then imports it with standardisation
and duplicate checks and prints rows per second.

    uv run python bench/import_throughput.py --rows 1000000 --db sqlite
    uv run python bench/import_throughput.py --rows 1000000 --db postgres
    # with django-import-export on the same file (a sample of --theirs-rows rows, since it
    # makes one query per row), without changing the project's dependencies:
    uv run --with django-import-export python bench/import_throughput.py \
        --rows 1000000 --theirs-rows 20000

PostgreSQL: DATABASE_URL of a server where the bench may create and drop `patron_bench`
(default postgres://postgres@127.0.0.1:5432/patron_bench).
"""

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋"
    "蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕文斌宇浩凯鹏飞"
PREFIXES = [
    "138",
    "139",
    "137",
    "136",
    "135",
    "150",
    "151",
    "186",
    "187",
    "188",
    "131",
    "132",
    "155",
    "156",
    "133",
    "153",
    "180",
    "189",
    "158",
    "159",
    "177",
    "199",
]
PROVINCES = [
    ("广东省", "广东", "粤", "Guangdong"),
    ("浙江省", "浙江", "浙", "Zhejiang"),
    ("上海市", "上海", "沪", "Shanghai"),
    ("北京市", "北京", "京", "Beijing"),
    ("江苏省", "江苏", "苏", "Jiangsu"),
    ("四川省", "四川", "川", "Sichuan"),
    ("内蒙古自治区", "内蒙古", "蒙", "Inner Mongolia"),
    ("山东省", "山东", "鲁", "Shandong"),
]
PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
          "ma", "zhu", "hu", "guo", "lin", "wei", "fang", "na", "min", "jing", "qiang", "lei", "jun", "yang")
DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com", "Example.COM")
HEADER = ["客户名称", "手机", "邮箱", "省份", "生日", "公司", "备注"]


def phone_written(digits: str, rng: random.Random) -> str:
    style = rng.randrange(5)
    if style == 0:
        return digits
    if style == 1:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == 2:
        return f"+86-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3:
        return "0086 " + digits
    return "+86" + digits


def date_written(rng: random.Random) -> str:
    y, m, d = rng.randrange(1960, 2005), rng.randrange(1, 13), rng.randrange(1, 29)
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}", f"{y}年{m}月{d}日", f"{m:02d}/{d:02d}/{y}", ""])


def generate(path: Path, rows: int, seed: int = 7) -> list[str]:
    """Write the messy CSV (UTF-8 with BOM, as Excel saves it); return the phones of the 1% of
    rows that should already exist as customers."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    suffixes = rng.sample(range(10**8), rows)
    existing: list[str] = []
    written: list[list[str]] = []
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(rows):
            if written and rng.random() < 0.02:  # a repeated row, sometimes with a new note
                row = list(rng.choice(written[-1000:]))
                row[6] = "重复"
                out.writerow(row)
                continue
            digits = rng.choice(PREFIXES) + f"{suffixes[i]:08d}"
            if rng.random() < 0.01:
                existing.append(digits)
            phone = "12345" if rng.random() < 0.01 else phone_written(digits, rng)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randrange(1, 3)))
            if rng.random() < 0.05:
                name = " " + name[0] + " " + name[1:] + " "
            # Addresses in no relation to the file's order, as in a real export: the e-mail
            # index then takes its rows at random places, as the phone index does.
            email = ""
            if rng.random() < 0.7:
                local = rng.choice(PINYIN) + rng.choice(PINYIN) + str(i)
                email = f"{local.title() if rng.random() < 0.3 else local}@{rng.choice(DOMAINS)}"
            if rng.random() < 0.01:
                email = f"user{i}@"
            birthday = "2024-02-30" if rng.random() < 0.005 else date_written(rng)
            row = [
                name,
                phone,
                email,
                rng.choice(rng.choice(PROVINCES)),
                birthday,
                rng.choice(["", "", "杭州茶叶有限公司", "Acme Ltd"]),
                "",
            ]
            out.writerow(row)
            if len(written) < 100_000:
                written.append(row)
    return existing


def setup_django(db: str, workdir: Path, with_theirs: bool) -> None:
    if db == "postgres":
        url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/patron_bench")
        import psycopg

        base, _, name = url.rpartition("/")
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["PATRON_DATA_DIR"] = str(workdir)
    os.environ.setdefault("PATRON_LOG_LEVEL", "WARNING")
    os.environ["PATRON_DEBUG"] = "0"  # DEBUG keeps and formats every query: not production
    os.environ["DJANGO_SETTINGS_MODULE"] = "patron.config.settings"
    import django
    from django.core.management import call_command

    if with_theirs:
        from patron.config import settings

        settings.INSTALLED_APPS.append("import_export")
    django.setup()
    call_command("migrate", verbosity=0)


def make_org(slug: str, existing: list[str]):
    from patron.accounts.services import user_create
    from patron.common import tenancy
    from patron.customers.models import Customer
    from patron.organizations.services import organization_create

    with tenancy.unscoped():
        org = organization_create(name=slug.title(), slug=slug)
    with tenancy.scope(org):
        user = user_create(organization=org, username=f"{slug}-admin", password="x" * 20, roles=["admin"])
        Customer.objects.bulk_create(
            [
                Customer(organization=org, number=f"E{i:07d}", name="老客户", phone="+86" + p, owner=user)
                for i, p in enumerate(existing)
            ],
            batch_size=2000,
        )
    return org, user


def run_ours(path: Path, existing: list[str], batch_size: int | None) -> tuple[float, float, str]:
    from django.core.files import File

    from patron.common import tenancy
    from patron.customers.models import Customer
    from patron.imports import services

    org, user = make_org("ours", existing)
    with tenancy.scope(org):
        with path.open("rb") as handle:
            job = services.import_create(user=user, file=File(handle, name=path.name), name=path.name, kind="customers")
        start, cpu, server = time.perf_counter(), cpu_seconds(), server_cpu_seconds()
        job = services.import_run(job=job, batch_size=batch_size or services.BATCH_SIZE)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        server = server_cpu_seconds() - server if server is not None else None
        total = Customer.objects.count()
    summary = f"created {job.rows_created}, updated {job.rows_updated}, rejected {job.rows_rejected}; {total} customers"
    if server is not None:
        summary += f"; database server cpu {server:.1f}s"
    return elapsed, cpu, summary


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the importer's read-ahead
    process, which is joined when the import ends)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def server_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend when the server runs on this machine
    (None otherwise): beside our own, it shows where an import's time goes."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_theirs(path: Path, existing: list[str], rows: int) -> tuple[float, float, str]:
    import itertools

    import tablib
    from import_export import fields, resources

    from patron.common import standardize, tenancy
    from patron.customers.models import Customer

    org, user = make_org("theirs", existing)
    numbers = itertools.count(1)

    class CustomerResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="客户名称")
        phone = fields.Field(attribute="phone", column_name="手机")
        email = fields.Field(attribute="email", column_name="邮箱")
        region = fields.Field(attribute="region", column_name="省份")
        birthday = fields.Field(attribute="birthday", column_name="生日")
        company_name = fields.Field(attribute="company_name", column_name="公司")
        notes = fields.Field(attribute="notes", column_name="备注")

        class Meta:
            model = Customer
            fields = ("name", "phone", "email", "region", "birthday", "company_name", "notes")
            import_id_fields = ("phone",)
            use_bulk = True
            batch_size = 1000
            skip_unchanged = True
            clean_model_instances = True

        def before_import_row(self, row, **kwargs):
            # The same standardisation as ours, through the general (uncached) functions.
            row["客户名称"] = standardize.clean_name(row["客户名称"])
            row["手机"] = standardize.normalize_phone(row["手机"], region="CN")
            row["邮箱"] = standardize.normalize_email(row["邮箱"])
            row["省份"] = standardize.canonical_region(row["省份"])
            day = standardize.parse_date(row["生日"])
            row["生日"] = day.isoformat() if day else None

        def init_instance(self, row=None):
            return Customer(
                organization=org,
                owner=user,
                owner_team_id=user.team_id,
                number=f"X{next(numbers):07d}",
            )

    with path.open(encoding="utf-8-sig") as handle:
        head = "".join(itertools.islice(handle, rows + 1))
    dataset = tablib.Dataset().load(head, format="csv")
    with tenancy.scope(org):
        start, cpu, server = time.perf_counter(), cpu_seconds(), server_cpu_seconds()
        result = CustomerResource().import_data(dataset, dry_run=False, raise_errors=False)
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        server = server_cpu_seconds() - server if server is not None else None
        total = Customer.objects.count()
    totals = result.totals
    for number, errors in result.row_errors()[:3]:  # say what failed, so the figures can be read
        print(f"  django-import-export row {number}: {errors[0].error!r}")
    return (
        elapsed,
        cpu,
        (
            f"new {totals.get('new')}, updated {totals.get('update')}, invalid "
            f"{totals.get('invalid', 0)}, errors {len(result.row_errors())}, whole-import "
            f"errors {len(result.base_errors)}; {total} customers in the table afterwards"
            + (f"; database server cpu {server:.1f}s" if server is not None else "")
        ),
    )


def report(name: str, db: str, rows: int, elapsed: float, cpu: float, summary: str) -> None:
    # CPU time of this process (and its helper) is printed beside the wall clock: on a shared
    # machine it is the steadier figure (for PostgreSQL the server's own is in the summary).
    print(
        f"{name:20} {db:8} {rows:>9} rows  wall {elapsed:7.1f}s {rows / elapsed:9.0f} rows/s  "
        f"cpu {cpu:7.1f}s {rows / max(cpu, 1e-9):9.0f} rows/s  ({summary})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--theirs-rows", type=int, default=20_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--batch-size", type=int, help="rows per batch (default: the importer's own)")
    parser.add_argument("--skip-ours", action="store_true")
    args = parser.parse_args()
    try:
        import import_export  # noqa: F401

        with_theirs = args.theirs_rows > 0
    except ImportError:
        with_theirs = False
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory(prefix="patron-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "customers.csv"
        t = time.perf_counter()
        existing = generate(path, args.rows)
        print(f"generated {args.rows} rows ({path.stat().st_size / 2**20:.0f} MB) in {time.perf_counter() - t:.1f}s")
        setup_django(args.db, workdir, with_theirs)
        ours_rate = None
        if not args.skip_ours:
            elapsed, cpu, summary = run_ours(path, existing, args.batch_size)
            ours_rate = args.rows / elapsed
            report("patron", args.db, args.rows, elapsed, cpu, summary)
        if with_theirs:
            n = min(args.rows, args.theirs_rows)
            elapsed, cpu, summary = run_theirs(path, existing[: max(1, n // 100)], n)
            rate = n / elapsed
            report("django-import-export", args.db, n, elapsed, cpu, summary)
            if ours_rate:
                print(f"ratio (wall clock): {ours_rate / rate:.1f}x")
        else:
            print("django-import-export not installed: run with `uv run --with django-import-export ...`")


if __name__ == "__main__":
    main()
