#!/usr/bin/env python3
"""Records the till receipts the returns benchmark returns against.

For each receipt: POST /api/returns/receipts by a till of WAW-01, a sale of
20 units of one tee with an order-level discount, for one of the bench
customers. Writes one line per receipt to RECEIPTS_FILE:
"<receipt_id> <token of the receipt's customer>".

Usage: returns-setup.py BASE_URL TOKENS_FILE RECEIPTS_FILE COUNT
TOKENS_FILE lines: "customer <id> <token>" or "store <store_id> <token>".
Traffic goes to 127.0.0.1 only (BASE_URL must be a loopback address).
"""

import http.client
import json
import sys
import urllib.parse


def main():
    base, tokens_file, receipts_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    url = urllib.parse.urlparse(base)
    assert url.hostname in ("127.0.0.1", "localhost"), "the benchmark only talks to loopback"
    customers, till = [], None
    for line in open(tokens_file):
        kind, ident, token = line.split()
        if kind == "customer":
            customers.append((ident, token))
        elif ident == "WAW-01":
            till = token
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    with open(receipts_file, "w") as out:
        for i in range(count):
            ident, token = customers[i % len(customers)]
            body = {
                "currency": "PLN",
                "customer_id": ident,
                "lines": [{"sku": "TEE-ORG-BLK-M", "quantity": 20, "unit_price": "59.99"}],
                "order_discounts": ["10.00"],
            }
            conn.request("POST", "/api/returns/receipts", json.dumps(body),
                         {"authorization": f"Bearer {till}", "content-type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
            if reply.status != 201:
                raise SystemExit(f"POST /api/returns/receipts: {reply.status} {data[:300]!r}")
            out.write(f"{json.loads(data)['receipt_id']} {token}\n")


if __name__ == "__main__":
    main()
