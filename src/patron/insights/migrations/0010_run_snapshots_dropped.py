"""A run says when its snapshots are gone, so a customer's history names only the runs that
still hold some (the snapshots are found by run first)."""

from django.db import migrations, models


def mark_empty_runs(apps, schema_editor):
    ScoreRun = apps.get_model("insights", "ScoreRun")
    CustomerScore = apps.get_model("insights", "CustomerScore")
    for run_id in ScoreRun._base_manager.values_list("pk", flat=True):
        if not CustomerScore._base_manager.filter(run_id=run_id).exists():  # one seek each
            ScoreRun._base_manager.filter(pk=run_id).update(snapshots_dropped=True)


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0009_score_run_without_index_of_its_own"),
    ]

    operations = [
        migrations.AddField(
            model_name="scorerun",
            name="snapshots_dropped",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(mark_empty_runs, migrations.RunPython.noop),
    ]
