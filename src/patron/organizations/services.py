"""Setting up an organisation: built-in roles and a default pipeline come with it."""

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from patron.accounts.capabilities import BUILTIN_ROLES
from patron.common import tenancy
from patron.organizations.models import Organization

DEFAULT_STAGES = [
    # (name, probability, outcome): a typical B2B pipeline. Marked for translation here and
    # translated when an organisation is created, in the language active then.
    (gettext_noop("Qualification"), 10, "open"),
    (gettext_noop("Needs analysis"), 25, "open"),
    (gettext_noop("Proposal"), 50, "open"),
    (gettext_noop("Negotiation"), 75, "open"),
    (gettext_noop("Won"), 100, "won"),
    (gettext_noop("Lost"), 0, "lost"),
]


@transaction.atomic
def organization_create(
    *, name: str, slug: str | None = None, time_zone: str = "Asia/Shanghai",
    currency: str = "CNY", phone_region: str = "CN", language: str = "zh-hans",
) -> Organization:
    from patron.accounts.models import Role
    from patron.sales.models import Pipeline, Stage

    org = Organization.objects.create(
        name=name, slug=slug or slugify(name) or "org", time_zone=time_zone,
        currency=currency, phone_region=phone_region, language=language,
    )
    with tenancy.scope(org):
        for key, spec in BUILTIN_ROLES.items():
            Role.objects.create(
                organization=org, key=key, name=str(spec["name"]), capabilities=spec["capabilities"]
            )
        pipeline = Pipeline.objects.create(organization=org, name=_("Sales"), is_default=True)
        Stage.objects.bulk_create(
            Stage(
                organization=org, pipeline=pipeline, name=_(stage), position=i,
                probability=probability, outcome=outcome,
            )
            for i, (stage, probability, outcome) in enumerate(DEFAULT_STAGES)
        )
    return org
