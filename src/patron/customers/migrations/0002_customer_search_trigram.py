"""Substring search on customers and leads served by trigram GIN indexes on PostgreSQL.

`search_text LIKE '%term%'` cannot use a B-tree index; pg_trgm's GIN index serves it, so
searching a million customers by part of a phone number stays fast. SQLite scans instead,
which is fine at the sizes SQLite is meant for.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer "
        "USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS customer_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
