"""The leads' phone index keyed by the value alone, as customers' (customers' 0010 says why)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sales', '0002_lead_search_trigram'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_phone_idx',
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['phone'], name='lead_phone_idx'),
        ),
    ]
