"""Phone and e-mail indexes keyed by the value alone, without the organisation's id.

Every entry carried the organisation's id, 32 hex digits on SQLite, for a phone of about 14
characters: the indexes were three times the size they need. New customers' phones and
e-mails land at random places in them, so each batch of an import dirtied pages all over
both and wrote them at its commit: two thirds of SQLite's cost per customer at a million
(42.8 us a customer with them as they were, 28.5 us keyed by the value; 14.0 us without
them). Lookups still filter by organisation; a phone that several organisations share
costs a few more entries read.

SQLite's planner, without statistics, reads `organization_id = ? AND phone = ?` through an
index that starts with the organisation (every customer of it) rather than this one; the
statistics that large writes now leave (`common.bulk.analyze`) make it take this one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0009_last_purchase_index_on_sqlite'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='customer',
            name='customer_phone_idx',
        ),
        migrations.RemoveIndex(
            model_name='customer',
            name='customer_email_idx',
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['phone'], name='customer_phone_idx'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['email'], name='customer_email_idx'),
        ),
    ]
