"""Fill a PostgreSQL database with N customers and ~10 orders each, fast, for the benchmarks.

    uv run python bench/seed_sql.py postgres://postgres@127.0.0.1:5432/patron_bench_1m --customers 1000000

It migrates, loads the small realistic demo organisation (users, teams, products, pipeline;
`demo_data --customers 2000`) and then adds N customers and about 10 orders per customer with
INSERT ... SELECT over generate_series inside PostgreSQL: minutes for a million customers where
the realistic generator (bench/demo_load.py) takes far longer on this machine. The rows are
plausible (Chinese mobile numbers, owners spread over the demo's reps and teams, purchases over
two years) but not a buying process: use them for latency and scale, the demo for the science.
"""

import argparse
import os
import subprocess
import sys
import time

import psycopg

CUSTOMERS_SQL = """
WITH reps AS (
  SELECT array_agg(u.id ORDER BY u.username) AS ids, array_agg(u.team_id ORDER BY u.username) AS teams
  FROM accounts_user u JOIN accounts_user_roles ur ON ur.user_id = u.id
  JOIN accounts_role r ON r.id = ur.role_id AND r.key = 'sales_rep' WHERE u.organization_id = %(org)s
)
INSERT INTO customers_customer (id, organization_id, created_at, updated_at, version, owner_id, owner_team_id,
  number, kind, name, company_name, phone, email, wechat, id_number, birthday, address, region, city, industry,
  source, preferred_channel, consent_email, consent_sms, consent_phone, notes, last_ordered_at, is_archived,
  search_text)
SELECT gen_random_uuid(), %(org)s, now() - (g %% 1000) * interval '1 hour' - g * interval '1 second', now(), 1,
  reps.ids[1 + g %% array_length(reps.ids, 1)], reps.teams[1 + g %% array_length(reps.ids, 1)],
  'B' || lpad(g::text, 7, '0'), 'person',
  (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + g %% 10] ||
  (ARRAY['伟','芳','娜','敏','静','磊','洋','勇','艳','杰','涛','明'])[1 + (g / 10) %% 12] || g::text,
  '', '+861' || (3 + g %% 7)::text || lpad((g::bigint * 7919 %% 1000000000)::text, 9, '0'),
  'c' || g || '@example.com', '', '', NULL, '',
  (ARRAY['上海','北京','广东','浙江','江苏','四川','湖北','山东'])[1 + g %% 8], '', '', 'other', 'phone',
  false, false, true, '', NULL, false,
  lower('b' || lpad(g::text, 7, '0') || ' ' ||
        (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'])[1 + g %% 10] ||
        (ARRAY['伟','芳','娜','敏','静','磊','洋','勇','艳','杰','涛','明'])[1 + (g / 10) %% 12] || g::text ||
        ' 861' || (3 + g %% 7)::text || lpad((g::bigint * 7919 %% 1000000000)::text, 9, '0') || ' c' || g || '@example.com')
FROM generate_series(%(start)s, %(stop)s) AS g, reps
"""

ORDERS_SQL = """
INSERT INTO orders_order (id, organization_id, created_at, updated_at, version, owner_id, owner_team_id, number,
  customer_id, ordered_at, channel, status, total, currency, opportunity_id, external_ref)
SELECT gen_random_uuid(), c.organization_id, now(), now(), 1, c.owner_id, c.owner_team_id,
  'B' || substr(c.number, 2) || '-' || k, c.id,
  now() - ((hashtext(c.number || k) & 2147483647) %% 730) * interval '1 day',
  'direct', 'paid', round((20 + (hashtext(c.number || 'a' || k) & 2147483647) %% 2000 / 4.0)::numeric, 2), 'CNY',
  NULL, ''
FROM customers_customer c, generate_series(1, %(per)s) AS k
WHERE c.organization_id = %(org)s AND c.number >= %(first)s AND c.number <= %(last)s
  AND k <= 1 + (hashtext(c.number) & 2147483647) %% (2 * %(per)s - 1)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders-per-customer", type=int, default=10, help="the mean; each gets 1..2x-1")
    parser.add_argument("--chunk", type=int, default=100_000)
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.url}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "patron.cli", "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-m", "patron.cli", "manage", "demo_data", "--customers", "2000"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    with psycopg.connect(args.url, autocommit=True) as conn:
        org = conn.execute("SELECT id FROM organizations_organization WHERE slug = 'demo'").fetchone()[0]
        done = conn.execute("SELECT count(*) FROM customers_customer WHERE organization_id = %s AND number LIKE 'B%%'",
                            [org]).fetchone()[0]
        for start in range(done + 1, args.customers + 1, args.chunk):
            stop = min(start + args.chunk - 1, args.customers)
            t = time.perf_counter()
            conn.execute(CUSTOMERS_SQL, {"org": org, "start": start, "stop": stop})
            conn.execute(ORDERS_SQL, {"org": org, "per": args.orders_per_customer,
                                      "first": f"B{start:07d}", "last": f"B{stop:07d}"})
            print(f"  customers {start:,}..{stop:,} with their orders in {time.perf_counter() - t:.0f}s", flush=True)
        conn.execute("UPDATE customers_customer c SET last_ordered_at = o.last FROM "
                     "(SELECT customer_id, max(ordered_at) AS last FROM orders_order WHERE organization_id = %s "
                     "GROUP BY customer_id) o WHERE c.id = o.customer_id AND c.organization_id = %s "
                     "AND c.last_ordered_at IS NULL", [org, org])
        conn.execute("VACUUM ANALYZE")
        counts = conn.execute("SELECT (SELECT count(*) FROM customers_customer), (SELECT count(*) FROM orders_order)").fetchone()
    print(f"{counts[0]:,} customers, {counts[1]:,} orders in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
