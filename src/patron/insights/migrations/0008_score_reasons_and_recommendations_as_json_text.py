"""Churn reasons and recommended products as JSON text (PlainJSONField): `json`, not `jsonb`,
on PostgreSQL; SQLite's column is text either way, so its table is not rebuilt."""

from django.db import migrations

import patron.common.fields

COLUMNS = ("churn_reasons", "recommendations")


def _retype(to: str):
    def retype(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        changes = ", ".join(f"ALTER COLUMN {c} TYPE {to} USING {c}::{to}" for c in COLUMNS)
        schema_editor.execute(f"ALTER TABLE insights_customerscore {changes}")
    return retype


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0007_score_index_by_run"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_retype("json"), _retype("jsonb"))],
            state_operations=[
                migrations.AlterField(
                    model_name="customerscore",
                    name="churn_reasons",
                    field=patron.common.fields.PlainJSONField(blank=True, default=list, verbose_name="churn reasons"),
                ),
                migrations.AlterField(
                    model_name="customerscore",
                    name="recommendations",
                    field=patron.common.fields.PlainJSONField(blank=True, default=list,
                                                              verbose_name="recommended products"),
                ),
            ],
        ),
    ]
