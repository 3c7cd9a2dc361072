"""The default pipeline an organisation starts with is named in the organisation's language."""

import pytest

from patron.common import tenancy
from patron.organizations import services
from patron.sales.models import Pipeline


def _names(org):
    with tenancy.scope(org):
        pipeline = Pipeline.objects.get(is_default=True)
        return pipeline.name, list(pipeline.stages.order_by("position").values_list("name", flat=True))


@pytest.mark.parametrize(("language", "names"), [
    ("zh-hans", ("销售", ["资格确认", "需求分析", "方案报价", "商务谈判", "赢单", "输单"])),
    ("en", ("Sales", ["Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"])),
])
def test_it_names_the_stages_in_the_organisations_language_whoever_sets_it_up(db, settings, language, names):
    from django.utils import translation

    other = "en" if language == "zh-hans" else "zh-hans"
    with tenancy.unscoped(), translation.override(other):  # set up by someone speaking the other language
        org = services.organization_create(name="Tea House", slug="tea", language=language)
    assert _names(org) == names


def test_the_create_organization_command_and_the_demo_get_chinese_stages(db, monkeypatch):
    from django.core.management import call_command

    from patron.demo import services as demo
    from patron.organizations.models import Organization

    monkeypatch.setenv("PATRON_ADMIN_PASSWORD", "correct-horse-battery-staple")
    call_command("create_organization", "华东贸易", "--slug", "huadong", "--admin", "boss")
    assert _names(Organization.objects.get(slug="huadong"))[1][0] == "资格确认"
    with tenancy.unscoped():
        org, _staff = demo._setup()
    assert _names(org) == ("销售", ["资格确认", "需求分析", "方案报价", "商务谈判", "赢单", "输单"])


def test_a_new_pipeline_starts_with_stages_in_the_organisations_language(org, admin):
    from patron.accounts.services import pipeline_create

    pipeline = pipeline_create(by=admin, name="Key accounts")  # org speaks Chinese; the test runs in English
    assert list(pipeline.stages.order_by("position").values_list("name", flat=True)) == ["资格确认", "赢单", "输单"]
