"""Every stored region through the canonical name (the short Chinese one: 浙江), whether it was
imported in English (Zhejiang) or typed before regions were canonicalised (浙江省, zhejiang),
so that one filter finds every customer and lead of a province. One UPDATE per distinct
stored value that changes (a few dozen), not one per row."""

from django.db import migrations


def to_canonical(apps, schema_editor):
    from patron.common.standardize import canonical_region

    for label in ("customers.Customer", "sales.Lead"):
        model = apps.get_model(label)
        for value in model.objects.exclude(region="").values_list("region", flat=True).distinct():
            canonical = canonical_region(value)[:60]
            if canonical != value:
                model.objects.filter(region=value).update(region=canonical)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0004_duplicatepair_mergerecord"),
        ("sales", "0002_lead_search_trigram"),
    ]

    operations = [migrations.RunPython(to_canonical, migrations.RunPython.noop)]
