"""Order lines carry their order's customer and time (see OrderLine.customer), copied for the
lines already stored. UPDATE ... FROM: PostgreSQL, and SQLite from 3.33 (Django needs 3.37)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_duplicatepair_mergerecord'),
        ('orders', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='orderline',
            name='customer',
            field=models.ForeignKey(db_constraint=False, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='customers.customer'),
        ),
        migrations.AddField(
            model_name='orderline',
            name='ordered_at',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunSQL(
            "UPDATE orders_orderline SET customer_id = o.customer_id, ordered_at = o.ordered_at "
            "FROM orders_order AS o WHERE o.id = orders_orderline.order_id",
            migrations.RunSQL.noop,
        ),
    ]
