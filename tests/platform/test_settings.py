import os
import subprocess
import sys

import pytest

SECRET = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN"


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # A clean environment: no Patron settings, and not the browser tests' async switch.
    dropped = ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL")
    base = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_") and k not in dropped}
    return subprocess.run(
        [sys.executable, "-m", "patron.cli", "manage", "check", *args],
        env={**base, **env}, capture_output=True, text=True, timeout=120,
    )


def test_it_passes_the_deployment_checklist_in_production(tmp_path):
    result = _check(
        {"PATRON_ENV": "production", "PATRON_SECRET_KEY": SECRET, "PATRON_ALLOWED_HOSTS": "crm.example.com",
         "PATRON_DATA_DIR": str(tmp_path)},
        "--deploy", "--fail-level", "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PATRON_ENV": "production", "PATRON_ALLOWED_HOSTS": "x.example.com"}, "PATRON_SECRET_KEY must be set"),
        ({"PATRON_ENV": "production", "PATRON_SECRET_KEY": SECRET}, "PATRON_ALLOWED_HOSTS"),
        ({"PATRON_DEBUG": "maybe"}, "PATRON_DEBUG must be a boolean"),
        ({"PATRON_ENV": "staging"}, "PATRON_ENV must be"),
        ({"PATRON_DB_CONN_MAX_AGE": "ten"}, "PATRON_DB_CONN_MAX_AGE must be an integer"),
    ],
)
def test_it_fails_loudly_on_bad_configuration(tmp_path, env, message):
    result = _check({"PATRON_DATA_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_it_runs_with_zero_configuration_on_sqlite(tmp_path):
    result = _check({"PATRON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "patron.sqlite3").exists() or (tmp_path).exists()
