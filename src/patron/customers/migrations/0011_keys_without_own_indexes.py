"""The customer's organisation, owner and team lose their single-column indexes: every index of
the table begins with the organisation, then the owner or team where a query needs them
(`common.models.LargeOwnedModel`). Eleven indexes took every imported customer's row; eight now.
A million customers into SQLite (`bench/import_throughput.py`, three alternating pairs):
74.5 / 85.6 / 80.3 s before, 70.7 / 71.4 / 80.6 s after.

What a key's own index still served: the database's check, when a user, team or organisation
row is deleted, that no customer points at it, now reads the table. Patron deactivates users
and keeps teams, and deleting an organisation deletes its rows table by table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from patron.common.schema import drop_key_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_language"),
        ("customers", "0010_phone_and_email_indexes_by_value"),
        ("organizations", "0002_settings_validated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="organizations.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="owner_team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.team",
                        verbose_name="team",
                    ),
                ),
            ],
            database_operations=[drop_key_indexes("customers.Customer", "organization", "owner", "owner_team")],
        ),
    ]
