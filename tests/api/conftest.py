import datetime as dt

import pytest
from django.utils import timezone


@pytest.fixture
def records(owner, customer, product):
    """One record of every type, all belonging to the owner's customer."""
    from patron.activities import services as activities
    from patron.orders import services as orders
    from patron.sales import services as sales

    lead = sales.lead_create(user=owner, data={"name": "Zhao Lei", "phone": "13900001111"})
    opportunity = sales.opportunity_create(user=owner, customer=customer, data={"name": "Tea for the office", "amount": "5000"})
    order = orders.order_create(user=owner, customer=customer, ordered_at=timezone.now() - dt.timedelta(days=3),
                                lines=[{"product": product, "quantity": 2}])
    interaction = activities.interaction_log(user=owner, kind="call", customer=customer, subject="First call")
    task = activities.task_create(user=owner, title="Call back", due_at=timezone.now() + dt.timedelta(days=1), customer=customer)
    return {"customers": customer, "leads": lead, "opportunities": opportunity, "orders": order,
            "interactions": interaction, "tasks": task}
