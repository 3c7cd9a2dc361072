"""The customer's organisation, owner and team lose their single-column indexes: every query
names the organisation, and the table's indexes beginning with it, then the owner or the team,
serve the queries that name those (`common.models.LargeOwnedModel`). Eleven index entries a
customer row on SQLite, eight now. A million customers into SQLite
(`bench/import_throughput.py`, alternating pairs): 74.5 / 85.6 / 80.3 / 64.6 / 67.6 s before,
70.7 / 71.4 / 80.6 / 60.3 / 65.9 s after. On PostgreSQL no difference was measurable: its
B-tree deduplication keeps an index of a few repeated values nearly free.

What the indexes still served: the database's check, when a user, team or organisation row
is deleted, that no customer points at it. It now reads an index that begins with the
organisation (SQLite skips through it when it has statistics) or, on PostgreSQL, the table.
Patron deactivates users and keeps teams; `demo_delete` deletes the demo's users and teams,
with the checks off where the role may turn them off (a superuser) and slower otherwise.
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
