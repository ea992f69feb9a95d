#!/usr/bin/env python3
"""Writes ORDERS orders of history (and the cart endings, return cases and
coupon redemptions that go with them) straight into an app's SQLite file,
for infra/bench/insights.sh.

Why not through the API, as the demo history is? 100,000 orders through the
API are ~800,000 calls; the benchmark measures the insights reads, and only
the rows' shape matters to them. The rows are those the API writes (same
columns, same formats: RFC 3339 instants with milliseconds, minor units),
spread over DAYS days before now with a fixed seed.

Usage: insights-history.py DB ORDERS [DAYS]
"""
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone

db, orders = sys.argv[1], int(sys.argv[2])
days = int(sys.argv[3]) if len(sys.argv) > 3 else 365
rng = random.Random(20261204)
now = datetime.now(timezone.utc).replace(microsecond=0)
stores = [f"BEN-{i:02d}" for i in range(1, 21)]
channels = ["web", "app", "app", "web", "kiosk", "call_center"]


def wire(at):
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


con = sqlite3.connect(db)
con.execute("PRAGMA journal_mode = WAL")
order_rows, event_rows, case_rows, redemption_rows, use_rows = [], [], [], [], []
for n in range(orders):
    created = now - timedelta(seconds=rng.randrange(days * 86400))
    fulfilment = rng.choices(["click_and_collect", "ship_from_store", "endless_aisle"], [70, 20, 10])[0]
    channel = "kiosk" if fulfilment == "endless_aisle" else rng.choice(channels[:4])
    store = rng.choice(stores)
    ready_by = created + timedelta(minutes=rng.randrange(60, 300))
    status, ready_at, collected_at = "placed", None, None
    roll = rng.random()
    if fulfilment == "click_and_collect":
        if roll < 0.04:
            status = "cancelled"
        elif ready_by < now:
            ready_at = ready_by - timedelta(minutes=rng.randrange(-60, 120))
            if roll < 0.12:
                status = "expired"
            elif ready_at + timedelta(hours=30) < now:
                status = "picked_up"
                collected_at = ready_at + timedelta(minutes=rng.randrange(20, 1800))
            else:
                status = "ready_for_pickup"
    else:
        status = "cancelled" if roll < 0.03 else "shipped"
    oid = f"ORD-BENCH{n:08d}"
    paid = rng.randrange(1999, 49999)
    order_rows.append((oid, f"C-B{n % 20000}", fulfilment, store, store, "addr", "Europe/Warsaw", "pl", status, 3,
                       "PLN", paid, channel, "pl", wire(ready_by), wire(ready_by - timedelta(minutes=30)),
                       wire(ready_at) if ready_at else None, wire(collected_at) if collected_at else None,
                       store if collected_at else None, wire(created), wire(created)))
    # One cart ending per order and half as many abandoned carts.
    started = rng.choice(["web", "app"])
    event_rows.append((f"crt_{n:032x}", "converted", started, rng.choice(["web", "app", "pos", "kiosk"]),
                       f"chk_{n:032x}", 1, 1, paid, "PLN", wire(created)))
    if n % 2 == 0:
        event_rows.append((f"crt_a{n:031x}", "abandoned", started, started, None, 1, 1, paid, "PLN",
                           wire(created + timedelta(days=1))))
    if status == "picked_up" and rng.random() < 0.1:
        opened = collected_at + timedelta(days=rng.randrange(1, 10))
        if opened < now:
            refunded = rng.random() < 0.8
            case_rows.append((f"RET-{n:016X}", f"RMA-{n:012d}", "order", oid, "PLN",
                              "refunded" if refunded else "received", 3, "original_payment", "pl",
                              rng.choice(["web", "app", "kiosk"]), wire(opened + timedelta(days=14)),
                              store, wire(opened), paid if refunded else None, wire(opened), wire(opened)))
    if rng.random() < 0.3 and status != "cancelled":
        rid = f"RDM-{n:016X}"
        redemption_rows.append((rid, rid, "h", oid, store if channel == "kiosk" else None, channel, "committed",
                                "PLN", rng.randrange(100, 5000), "{}", wire(created), wire(created)))
        use_rows.append((rid, f"PROMO-{rng.randrange(50):02d}", 1))

con.executemany(
    "INSERT INTO orders (id, customer_id, fulfilment, store_id, store_name, store_address, time_zone, store_locale,"
    " status, version, currency, total_paid_minor, channel, locale, ready_by, sla_at_risk_at, ready_at, collected_at,"
    " collected_store, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", order_rows)
con.executemany(
    "INSERT INTO cart_events (cart_id, kind, channel_started, channel_finished, checkout_id, line_count, item_count,"
    " value_minor, currency, occurred_at) VALUES (?,?,?,?,?,?,?,?,?,?)", event_rows)
con.executemany(
    "INSERT INTO return_cases (id, case_number, source, source_id, currency, status, version, refund_method, locale,"
    " opened_channel, code_expires_at, received_store, received_at, refund_minor, created_at, updated_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", case_rows)
con.executemany(
    "INSERT INTO promotions (id, version, status, requires_code, global_limit, used, definition, created_at, updated_at)"
    " VALUES (?, 1, 'active', 1, ?, ?, '{}', 'x', 'x')",
    [(f"PROMO-{i:02d}", 1000 if i % 10 == 0 else None, 0) for i in range(50)])
con.executemany(
    "INSERT INTO redemptions (id, idempotency_key, request_hash, order_id, store_id, channel, state, currency,"
    " total_discount_minor, evaluation, created_at, committed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", redemption_rows)
con.executemany("INSERT INTO redemption_uses (redemption_id, promotion_id, promotion_version) VALUES (?,?,?)", use_rows)
con.execute("UPDATE promotions SET used = (SELECT count(*) FROM redemption_uses u WHERE u.promotion_id = promotions.id)")
con.commit()
con.close()
print(f"{orders} orders, {len(event_rows)} cart endings, {len(case_rows)} return cases, "
      f"{len(redemption_rows)} redemptions over {days} days")
