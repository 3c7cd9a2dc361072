"""The run's own index on the snapshots goes: (run, customer) begins with the run (0007).

Dropped by name rather than through AlterField, which on SQLite would copy the whole table."""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "insights_customerscore"


def drop_run_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if info["index"] and info["columns"] == ["run_id"] and not (info["primary_key"] or info["unique"]):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_run_index(apps, schema_editor):
    schema_editor.execute(f"CREATE INDEX insights_customerscore_run_id_c3c35a48 ON {TABLE} (run_id)")


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0008_score_reasons_and_recommendations_as_json_text"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_run_index, create_run_index)],
            state_operations=[
                migrations.AlterField(
                    model_name="customerscore",
                    name="run",
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.CASCADE, related_name="scores",
                                            to="insights.scorerun"),
                ),
            ],
        ),
    ]
