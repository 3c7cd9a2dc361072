"""The per-customer snapshot index leads with the run (a refresh's rows append to it).

Snapshots are then found by run and customer, so the rows without a run (written before runs
were recorded, migration 0005, and only ever history) could no longer be found: they go.
Deleting a customer deletes its snapshots through a receiver (insights.receivers)."""

import django.db.models.deletion
from django.db import migrations, models


def drop_snapshots_without_run(apps, schema_editor):
    apps.get_model("insights", "CustomerScore")._base_manager.filter(run__isnull=True).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0004_duplicatepair_mergerecord"),
        ("insights", "0006_score_customer_index_without_organization"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(drop_snapshots_without_run, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="customerscore",
            index=models.Index(fields=["run", "customer"], name="score_run_customer_idx"),
        ),
        migrations.RemoveIndex(
            model_name="customerscore",
            name="score_customer_run_idx",
        ),
        migrations.AlterField(
            model_name="customerscore",
            name="customer",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="scores", to="customers.customer"),
        ),
    ]
