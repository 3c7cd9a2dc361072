"""Segment speed at scale: `python bench/segment_speed.py [--requests 5]`.

On a demo database that has been scored (bench/refresh_and_dashboards.py, or the demo's own
refresh), for a few segments typical of a marketer's questions, as the manager (the whole
organisation) and as a rep (own customers):

- the builder's preview: the count of matching customers, as the form asks for it after each
  pause in typing (`segment_customers(...).count()`);
- the segment's page (`/insights/segments/<id>/`, count and the first page by CLV), served
  through the test client, median and worst of --requests.

The segments are saved under names beginning with "bench:" (kept, so that a second run
reuses them). Point DATABASE_URL at the database, e.g.
    DATABASE_URL=sqlite:////path/demo1m.sqlite3 uv run python bench/segment_speed.py
"""

import argparse
import os
import statistics
import time

import django

SEGMENTS = {
    "RFM at risk": [{"field": "rfm_segment", "op": "eq", "value": "at_risk"}],
    "CLV > 500": [{"field": "clv", "op": "gt", "value": "500"}],
    "Shanghai, CLV > 500, no contact for 60 days": [
        {"field": "region", "op": "eq", "value": "上海"},
        {"field": "clv", "op": "gt", "value": "500"},
        {"field": "days_since_contact", "op": "gt", "value": "60"},
    ],
    "lifecycle churned": [{"field": "lifecycle", "op": "eq", "value": "churned"}],
}
USERS = ("manager", "chen.jie")  # the demo's sales manager and one of the reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from patron.accounts.models import User
    from patron.common import tenancy
    from patron.insights import selectors, services
    from patron.insights.models import ScoreRun, Segment

    setup_test_environment()
    with tenancy.unscoped():
        users = list(User.objects.filter(username__in=USERS, organization__slug="demo").order_by("username"))
    if not users:
        raise SystemExit("no demo organisation here: load it with bench/demo_load.py or `patron manage demo_data`")
    print(f"database: {connection.vendor}")
    for user in users:
        client = Client()
        client.force_login(user)
        with tenancy.scope(user.organization_id):
            if not ScoreRun.objects.filter(is_current=True).exists():
                raise SystemExit("the demo has no scores yet: run a value refresh first")
            for name, raw in SEGMENTS.items():
                conditions = selectors.parse_conditions(raw)
                began = time.perf_counter()
                count = selectors.segment_customers(user=user, conditions=conditions).count()
                preview_ms = (time.perf_counter() - began) * 1000
                label = f"bench: {name}"
                segment = Segment.objects.filter(owner=user, name=label).first() or services.segment_create(
                    user=user, name=label, conditions=raw, count=count)
                times = []
                for _ in range(args.requests):
                    began = time.perf_counter()
                    response = client.get(f"/insights/segments/{segment.pk}/")
                    times.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, response.status_code
                print(f"{user.username:9} {name:45} {count:>9,} customers: preview count {preview_ms:7,.0f} ms; "
                      f"page median {statistics.median(times):7,.0f} ms, worst {max(times):7,.0f} ms")


if __name__ == "__main__":
    main()
