"""Regions imported before the canonical name became the short Chinese one (Zhejiang -> 浙江),
so that one filter finds every customer and lead of a province."""

from django.db import migrations


def to_chinese(apps, schema_editor):
    from patron.common.standardize import region_english_names

    for label in ("customers.Customer", "sales.Lead"):
        model = apps.get_model(label)
        for english, chinese in region_english_names().items():
            model.objects.filter(region=english).update(region=chinese)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_duplicatepair_mergerecord"),
        ("sales", "0002_lead_search_trigram"),
    ]

    operations = [migrations.RunPython(to_chinese, migrations.RunPython.noop)]
