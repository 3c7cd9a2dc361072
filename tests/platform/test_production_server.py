"""The production path end to end, as the README gives it: migrate, collectstatic, the first
organisation and its administrator, `patron serve` (gunicorn) answering."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

SECRET = "prod-" + "q7w8e9r0t1y2u3i4o5p6a7s8d9f0g1h2j3k4l5z6x7c8v9b0n1m2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_it_serves_pages_and_static_files_with_gunicorn_in_production(tmp_path):
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("PATRON_") and k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env = {**base, "PATRON_ENV": "production", "PATRON_SECRET_KEY": SECRET, "PATRON_ALLOWED_HOSTS": "127.0.0.1",
           "PATRON_SSL_REDIRECT": "false", "PATRON_DATA_DIR": str(tmp_path)}
    manage = [sys.executable, "-m", "patron.cli", "manage"]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, timeout=300)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, timeout=300)
    created = subprocess.run(
        [*manage, "create_organization", "华东贸易", "--slug", "huadong", "--admin", "alice"],
        env={**env, "PATRON_ADMIN_PASSWORD": "Quite-long-and-unusual-9"}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300,
    )
    assert created.returncode == 0 and "huadong" in created.stdout, created.stderr
    server = subprocess.Popen([sys.executable, "-m", "patron.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=20)
                break
            except OSError:  # refused while booting, or slow first answer
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.stdout.read().decode() if server.poll() is not None else "no answer") from None
                time.sleep(0.5)
        assert page.status == 200
        assert page.headers["X-Frame-Options"] == "DENY"
        # Behind the TLS-terminating proxy (X-Forwarded-Proto: https) HSTS is sent.
        proxied = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/login/", headers={"X-Forwarded-Proto": "https"}), timeout=5)
        assert "max-age=31536000" in proxied.headers["Strict-Transport-Security"]
        static = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/patron/app.css", timeout=5)
        assert static.status == 200 and b"{" in static.read()
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/customers/", timeout=5)
        assert denied.value.code in (401, 403)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_web_worker_loads_every_view_before_its_first_request():
    """Gunicorn loads the WSGI module as a worker starts; the views (and the science they
    import) must load then, not in the first request, which took 8-10 s."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    probe = ("import sys; import patron.config.wsgi; "
             "print('patron.insights.views' in sys.modules, 'patron.analytics.pipeline' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True"], out.stderr
