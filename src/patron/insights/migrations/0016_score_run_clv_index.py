"""The current run's snapshots by CLV, for the customer list and the API sorted by value. Built
without blocking a refresh's inserts on PostgreSQL (a minute or so per million snapshots kept)."""

from django.db import migrations, models

from patron.common.operations import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [
        ('insights', '0015_segment_risk_in_percent'),
    ]

    operations = [
        AddIndexOnline(
            model_name='customerscore',
            index=models.Index(condition=models.Q(('clv__gte', 0), ('replaced', False)), fields=['run', 'clv', 'customer'],
                               name='score_run_clv_idx'),
        ),
    ]
