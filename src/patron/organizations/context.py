"""Work done for an organisation outside a request (background tasks, scheduled commands)."""

import contextlib
import uuid
from collections.abc import Iterator

from django.utils import timezone, translation

from patron.common import tenancy
from patron.organizations.models import Organization


@contextlib.contextmanager
def working_for(organization: Organization | uuid.UUID | str) -> Iterator[Organization]:
    """As the organisation's pages work: its rows only, its clock, and its language, in which
    the tasks, alerts and reports written for its people are worded (a task's title is stored
    as written: the worker's own default language would leave a Chinese team English ones)."""
    with tenancy.scope(organization):
        if not isinstance(organization, Organization):
            organization = Organization.objects.get(pk=organization)
        with timezone.override(organization.zone), translation.override(organization.language):
            yield organization
