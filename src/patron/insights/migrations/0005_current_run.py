"""Say which snapshots are current on the run instead of on every row.

A refresh no longer rewrites the previous million rows to retire them: the organisation's
current run (`ScoreRun.is_current`) names the current rows, and a triggered rescore marks the
row it replaces. Existing data: each organisation's current run is the run of its current rows
(else its latest finished run); rescored rows, written without a run, join it; the rows they
replaced become `replaced`.
"""

from django.conf import settings
from django.db import migrations, models


def to_current_runs(apps, schema_editor):
    ScoreRun = apps.get_model("insights", "ScoreRun")
    CustomerScore = apps.get_model("insights", "CustomerScore")
    org_ids = ScoreRun.objects.filter(status="done").values_list("organization_id", flat=True).distinct()
    for org_id in org_ids:
        scores = CustomerScore.objects.filter(organization_id=org_id)
        run_id = (scores.filter(is_current=True, run__isnull=False).values_list("run_id", flat=True).first()
                  or ScoreRun.objects.filter(organization_id=org_id, status="done")
                  .order_by("-as_of", "-created_at").values_list("pk", flat=True).first())
        ScoreRun.objects.filter(pk=run_id).update(is_current=True)
        scores.filter(run_id=run_id, is_current=False).update(replaced=True)
        scores.filter(run__isnull=True, is_current=False).update(replaced=True)
        scores.filter(run__isnull=True, is_current=True).update(run_id=run_id)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_duplicatepair_mergerecord'),
        ('insights', '0004_score_rows_without_db_constraints'),
        ('organizations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='customerscore',
            name='score_one_current_per_customer',
        ),
        migrations.RemoveIndex(
            model_name='customerscore',
            name='score_customer_idx',
        ),
        migrations.RemoveIndex(
            model_name='customerscore',
            name='score_current_segment_idx',
        ),
        migrations.RemoveIndex(
            model_name='customerscore',
            name='score_current_risk_idx',
        ),
        migrations.RemoveIndex(
            model_name='customerscore',
            name='score_current_clv_idx',
        ),
        migrations.RemoveIndex(
            model_name='customerscore',
            name='score_at_risk_clv_idx',
        ),
        migrations.AddField(
            model_name='customerscore',
            name='replaced',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='scorerun',
            name='is_current',
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(to_current_runs, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='customerscore',
            index=models.Index(fields=['organization', 'customer', 'run'], name='score_customer_run_idx'),
        ),
        migrations.AddIndex(
            model_name='customerscore',
            index=models.Index(condition=models.Q(('replaced', False)), fields=['organization', 'run', 'rfm_segment'], name='score_run_segment_idx'),
        ),
        migrations.AddIndex(
            model_name='customerscore',
            index=models.Index(condition=models.Q(('churn_risk__gte', 0.6), ('replaced', False), models.Q(('lifecycle', 'churned'), _negated=True)), fields=['organization', 'run', '-clv'], name='score_run_at_risk_idx'),
        ),
        migrations.AddConstraint(
            model_name='scorerun',
            constraint=models.UniqueConstraint(condition=models.Q(('is_current', True)), fields=('organization',), name='scorerun_one_current'),
        ),
        migrations.RemoveField(
            model_name='customerscore',
            name='is_current',
        ),
    ]
