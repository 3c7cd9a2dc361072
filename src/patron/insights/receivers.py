"""Deleting a customer deletes its score snapshots.

The snapshots' per-customer index leads with the run (see `CustomerScore`), so Django's
cascade, which deletes by customer alone, would read every snapshot of every organisation
(ten million rows at a million customers) for each customer merged away or deleted. The
snapshots are deleted here instead, run by run, before the customer goes.
"""

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from patron.customers.models import Customer
from patron.insights.models import CustomerScore, ScoreRun


@receiver(pre_delete, sender=Customer, dispatch_uid="insights.delete_customer_scores")
def delete_customer_scores(sender: type, instance: Customer, using: str, **kwargs: Any) -> None:
    runs = ScoreRun._base_manager.using(using).filter(organization_id=instance.organization_id)
    CustomerScore._base_manager.using(using).filter(
        run__in=runs.holding_snapshots(), customer_id=instance.pk).delete()
