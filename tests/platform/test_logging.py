"""What the logs say about refused and failed requests."""

import io
import logging
import sys

from django.test import override_settings
from django.urls import path


def _log_of(client, url):
    """What the console handler writes while `url` is requested."""
    handler = next(h for h in logging.getLogger().handlers if any(
        type(f).__name__ == "RefusalsWithoutTraceback" for f in h.filters))
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        client.get(url)
    finally:
        handler.setStream(previous or sys.stderr)
    return out.getvalue()


@override_settings(DEBUG=True)
def test_a_refusal_is_one_line_in_the_log_and_written_once(client, viewer):
    client.force_login(viewer)
    written = _log_of(client, "/insights/playbooks/new/")
    assert written.count("Forbidden") == 1 and "Traceback" not in written
    assert not logging.getLogger("django").handlers  # Django's own console handler would write it again


def _broken(request):
    raise RuntimeError("the disk is full")


urlpatterns = [path("broken/", _broken)]


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_server_error_keeps_its_traceback_in_the_log(client, viewer):
    client.raise_request_exception = False
    client.force_login(viewer)
    written = _log_of(client, "/broken/")
    assert written.count("Internal Server Error") == 1 and "Traceback" in written and "the disk is full" in written
