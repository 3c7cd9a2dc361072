"""The customer list's index for sorting by last purchase, on SQLite too.

Migration 0003 made the list's name and last-purchase indexes on PostgreSQL only. Without the
last-purchase one SQLite sorted every customer a person may see for each page: at a million
customers 1.4-1.6 s a page for a rep, 3-5 s for a manager or an administrator; with it 30-50
ms (the demo of `bench/demo_load.py`). SQLite puts NULLs first in ascending order, so its
descending index already keeps customers who never bought last, as the list wants. It costs
an import little: new customers have no purchase yet and land together at the index's end
(1M raw inserts: 37.8 -> 40.3 us a customer).

The name index stays PostgreSQL's: new customers land at random places in it, which cost
SQLite 15 us a customer more (40 %) at a million, for sorting by name in 30 ms instead of
1.3-5 s at that size.

The model now declares the last-purchase index, so that SQLite's table rebuilds (which
recreate only the indexes a model declares) keep it; PostgreSQL keeps the one 0003 made,
spelled DESC NULLS LAST.
"""

from django.db import migrations, models

INDEX = "customer_lastorder_idx"
COLUMNS = "(organization_id, last_ordered_at DESC, id DESC)"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON customers_customer {COLUMNS}")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_contact_kept_from"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="customer",
                    index=models.Index(fields=["organization", "-last_ordered_at", "-id"], name=INDEX),
                ),
            ],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
