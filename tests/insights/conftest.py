import pytest
from django.core.management import call_command

from patron.common import tenancy
from patron.organizations.models import Organization


@pytest.fixture
def demo_org(db):
    """A small demo organisation (seeded, reproducible) with real order histories."""
    with tenancy.unscoped():
        call_command("demo_data", customers=250, seed=11, verbosity=0)
        org = Organization.objects.get(slug="demo")
    with tenancy.scope(org):
        yield org
