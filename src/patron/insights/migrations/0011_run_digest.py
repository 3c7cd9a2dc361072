"""Each run keeps a digest of what later refreshes read of it (segments and the 90-day
forecast), and a run's rescored customers get an index of their own, so a later refresh reads
the digest and those few rows instead of the run's million snapshots."""

import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_duplicatepair_mergerecord'),
        ('insights', '0010_run_snapshots_dropped'),
        ('organizations', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='ScoreRunDigest',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('version', models.PositiveIntegerField(default=1, editable=False)),
                ('frame', models.BinaryField()),
            ],
            options={
                'verbose_name': 'value refresh digest',
                'verbose_name_plural': 'value refresh digests',
                'abstract': False,
                'base_manager_name': 'objects',
            },
        ),
        migrations.AddIndex(
            model_name='customerscore',
            index=models.Index(condition=models.Q(('replaced', True)), fields=['run', 'customer'], name='score_run_rescored_idx'),
        ),
        migrations.AddField(
            model_name='scorerundigest',
            name='organization',
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization'),
        ),
        migrations.AddField(
            model_name='scorerundigest',
            name='run',
            field=models.OneToOneField(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='digest', to='insights.scorerun'),
        ),
    ]
