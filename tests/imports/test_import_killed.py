"""A real crash: `patron import` killed with SIGKILL midway, then resumed.

The import runs in its own process against a scratch database (a temporary SQLite file, or a
scratch database on the same PostgreSQL server when the suite runs there), so the kill hits a
real process holding real connections and transactions. The re-run must end with exactly the
file's rows: nothing lost from the batches that landed, nothing written twice.
"""

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROWS = 6_000
BATCH = 100
SETUP = """
import django
django.setup()
from patron.accounts.services import user_create
from patron.common import tenancy
from patron.organizations.services import organization_create
with tenancy.unscoped():
    org = organization_create(name="Kill test", slug="killtest")
with tenancy.scope(org):
    user_create(organization=org, username="importer", password=None, roles=["admin"])
"""


class Scratch:
    """A throw-away database the child processes share with the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.postgres = connection.vendor == "postgresql"
        if self.postgres:
            import psycopg

            settings = connection.settings_dict
            self.server = (f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
                           f"{settings['PORT'] or 5432}")
            self.name = f"patron_kill_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(f"{self.server}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"{self.server}/{self.name}"
        else:
            self.path = tmp_path / "kill.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def query(self, sql: str) -> list[tuple]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return conn.execute(sql).fetchall()
        with sqlite3.connect(self.path, timeout=30) as conn:
            return conn.execute(sql).fetchall()

    def drop(self) -> None:
        if self.postgres:
            import psycopg

            with psycopg.connect(f"{self.server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def scratch(tmp_path):
    db = Scratch(tmp_path)
    yield db
    db.drop()


def _env(scratch: Scratch, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DATABASE_URL=scratch.url, DJANGO_SETTINGS_MODULE="patron.config.settings",
               PATRON_ENV="development", PATRON_DATA_DIR=str(tmp_path / "data"))
    return env


def _patron(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patron.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


# `patron import` with the file cleaned by the read-ahead process from the first batch on,
# whatever its size (the importer waits for the process rather than cleaning batches itself).
IMPORT_WITH_READ_AHEAD = """
import sys
import django
django.setup()
from patron.cli import main
from patron.imports import readahead, services
services.READ_AHEAD_MIN_BYTES = 0
real_ready = readahead.ReadAhead.ready
readahead.ReadAhead.ready = lambda self: real_ready(self, timeout=120)
sys.exit(main(sys.argv[1:]))
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the parent's pid
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("read_ahead", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_killed_import_resumes_with_exactly_the_files_rows(read_ahead, scratch, tmp_path):
    env = _env(scratch, tmp_path)
    assert _patron("manage", "migrate", "-v", "0", env=env).returncode == 0
    done = subprocess.run([sys.executable, "-c", SETUP], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户名称", "手机"])
        writer.writerows([f"客户{i}", f"139{i:08d}"] for i in range(ROWS))

    runner = ["-c", IMPORT_WITH_READ_AHEAD] if read_ahead else ["-m", "patron.cli"]
    command = [sys.executable, *runner, "import", str(path), "--org", "killtest",
               "--user", "importer", "--batch-size", str(BATCH)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    landed = 0
    while time.monotonic() < deadline and child.poll() is None:
        rows = scratch.query("SELECT rows_done FROM imports_importjob")
        landed = rows[0][0] if rows else 0
        if landed >= ROWS // 4:
            break
        time.sleep(0.02)
    assert child.poll() is None, "the import finished before it could be killed; make the file larger"
    helpers = _children(child.pid)
    assert len(helpers) >= read_ahead  # the read-ahead process (with spawn's resource tracker)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in helpers), "a helper outlived the import"

    (job_id, status, done_rows, checkpoint), = scratch.query(
        "SELECT id, status, rows_done, checkpoint FROM imports_importjob")
    (customers,), = scratch.query("SELECT count(*) FROM customers_customer")
    # Killed mid-run: the job still says running, and exactly the committed batches are there.
    assert status == "running" and 0 < done_rows < ROWS
    assert customers == done_rows == checkpoint - 1  # row 1 is the header

    resumed = _patron("import", "--org", "killtest", "--user", "importer", "--resume",
                      str(uuid.UUID(str(job_id))), env=env)
    assert resumed.returncode == 0, resumed.stderr
    (status, done_rows, created), = scratch.query(
        "SELECT status, rows_done, rows_created FROM imports_importjob")
    assert (status, done_rows, created) == ("done", ROWS, ROWS)
    (customers, phones), = scratch.query("SELECT count(*), count(DISTINCT phone) FROM customers_customer")
    assert customers == phones == ROWS
    (audited,), = scratch.query("SELECT count(*) FROM audit_auditentry WHERE action = 'customer.imported'")
    assert audited == ROWS
