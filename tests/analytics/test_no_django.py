"""The analytics core is a library: it must never import Django (HOUSE-STYLE section 8)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import patron.analytics

ANALYTICS = Path(patron.analytics.__file__).resolve().parent

IMPORTS_DJANGO = re.compile(r"^\s*(import\s+django\b|from\s+django\b)", re.MULTILINE)

IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
import patron.analytics as root
names = [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
for name in names:
    importlib.import_module(name)
leaked = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(json.dumps({"modules": names, "django": leaked}))
"""


def test_it_imports_every_analytics_module_without_importing_django():
    # A fresh interpreter: this test process has Django loaded already by pytest-django.
    done = subprocess.run(  # noqa: S603 (our own interpreter running our own constant code)
        [sys.executable, "-c", IMPORT_EVERY_MODULE],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert "patron.analytics.rfm" in report["modules"]
    assert report["django"] == []


def test_it_finds_no_django_import_in_any_analytics_file():
    files = sorted(ANALYTICS.rglob("*.py"))
    assert files
    offenders = [
        str(f.relative_to(ANALYTICS))
        for f in files
        if IMPORTS_DJANGO.search(f.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_it_would_catch_a_django_import():
    assert IMPORTS_DJANGO.search("x = 1\nfrom django.db import models\n")
    assert IMPORTS_DJANGO.search("    import django\n")
    assert not IMPORTS_DJANGO.search("# not django_like = 1\nimport djangorestish\n")
