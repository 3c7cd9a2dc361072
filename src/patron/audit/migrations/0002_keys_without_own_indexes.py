"""The audit entry's organisation loses its single-column index: the table's two indexes for
reading the trail begin with it (the actor's own index stays). An import writes one entry a row.
"""

import django.db.models.deletion
from django.db import migrations, models

from patron.common.schema import drop_key_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("organizations", "0002_settings_validated"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
            ],
            database_operations=[drop_key_indexes("audit.AuditEntry", "organization")],
        ),
    ]
