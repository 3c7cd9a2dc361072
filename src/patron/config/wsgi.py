import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
application = get_wsgi_application()
# Import every view as the worker starts, before it takes requests: the views bring in the
# customer science (polars, scipy, lifelines), which made each web worker's first request
# take 8-10 s on two cores.
get_resolver().url_patterns  # noqa: B018 - loading it is the point
