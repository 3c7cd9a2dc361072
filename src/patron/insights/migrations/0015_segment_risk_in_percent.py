"""Saved segments compare churn risk and P(alive) in percent, as every page shows them: the
values of their stored conditions (0 to 1 until now) are multiplied by 100. A value above 1 was
already written in percent (60 for 60%, which matched nobody before) and is kept as it is."""

from django.db import migrations

PERCENT_FIELDS = ("churn_risk", "p_alive")


def _scaled(factor, applies):
    def scale(apps, schema_editor):
        Organization, Segment = apps.get_model("organizations", "Organization"), apps.get_model("insights", "Segment")
        organizations = Organization._base_manager.values_list("pk", flat=True)
        for segment in Segment._base_manager.filter(organization_id__in=list(organizations)).only("pk", "conditions"):
            conditions = segment.conditions if isinstance(segment.conditions, list) else []
            changed = False
            for condition in conditions:
                if isinstance(condition, dict) and condition.get("field") in PERCENT_FIELDS \
                        and isinstance(condition.get("value"), int | float) and applies(condition["value"]):
                    condition["value"] = round(condition["value"] * factor, 6)
                    changed = True
            if changed:
                Segment._base_manager.filter(pk=segment.pk).update(conditions=conditions)
    return scale


to_percent = _scaled(100, lambda value: 0 <= value <= 1)
to_fraction = _scaled(0.01, lambda value: 0 <= value <= 100)


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0014_score_customer_created_at'),
        ('organizations', '0002_settings_validated'),
    ]

    operations = [
        migrations.RunPython(to_percent, to_fraction, elidable=True),
    ]
