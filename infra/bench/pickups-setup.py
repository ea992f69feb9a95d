#!/usr/bin/env python3
"""Creates the click & collect orders the pickups benchmark moves.

For each order: a reservation (POST /api/reservations) and the order placed
from it (POST /api/orders), by one of CUSTOMERS customers at one of the
bench stores, each customer with a registered Web Push subscription so that
every customer-facing transition queues a notification. Writes one line per
order to ORDERS_FILE: "<order_id> <store device token of its store>".

Usage: pickups-setup.py BASE_URL TOKENS_FILE ORDERS_FILE COUNT
TOKENS_FILE lines: "customer <id> <token>" or "store <store_id> <token>".
Traffic goes to 127.0.0.1 only (BASE_URL must be a loopback address).
"""

import http.client
import json
import sys
import threading
import urllib.parse

# RFC 8291's example subscriber key and auth secret: valid P-256 material.
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


def main():
    base, tokens_file, orders_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    url = urllib.parse.urlparse(base)
    assert url.hostname in ("127.0.0.1", "localhost"), "the benchmark only talks to loopback"
    customers, stores = [], []
    for line in open(tokens_file):
        kind, ident, token = line.split()
        (customers if kind == "customer" else stores).append((ident, token))

    def connect():
        return http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def post(conn, path, token, body):
        conn.request("POST", path, json.dumps(body), {"authorization": f"Bearer {token}", "content-type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        if reply.status not in (200, 201):
            raise SystemExit(f"POST {path}: {reply.status} {data[:300]!r}")
        return json.loads(data)

    conn = connect()
    for n, (ident, token) in enumerate(customers):
        post(conn, "/api/notifications/push-subscriptions", token,
             {"endpoint": f"https://push.bench.invalid/wpush/{n}", "keys": {"p256dh": P256DH, "auth": AUTH}})

    lines = [None] * count
    errors = []

    def work(offset, step):
        conn = connect()
        try:
            for i in range(offset, count, step):
                ident, token = customers[i % len(customers)]
                store, store_token = stores[i % len(stores)]
                reservation = post(conn, "/api/reservations", token,
                                   {"store_id": store, "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 1}]})
                order = post(conn, "/api/orders", token,
                             {"fulfilment": "click_and_collect", "reservation_id": reservation["reservation_id"]})
                lines[i] = f"{order['order_id']} {store_token}"
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k, 4)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"setup failed: {errors[0]}")
    with open(orders_file, "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
