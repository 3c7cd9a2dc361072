"""The lead's organisation, owner and team lose their single-column indexes, as customers' do
(customers 0011).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from patron.common.schema import drop_key_indexes


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_language"),
        ("organizations", "0002_settings_validated"),
        ("sales", "0003_phone_index_by_value"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
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
                    model_name="lead",
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
                    model_name="lead",
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
            database_operations=[drop_key_indexes("sales.Lead", "organization", "owner", "owner_team")],
        ),
    ]
