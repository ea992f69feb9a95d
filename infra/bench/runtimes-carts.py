#!/usr/bin/env python3
"""Creates the 30-line customer carts the runtimes benchmark reads and adds to.

The same carts as infra/bench/cart-sync.sh makes with one curl per call: for
each customer an app cart (POST /api/carts), then one line of quantity 1 per
SKU (POST /api/carts/{id}/lines), here over one keep-alive connection so the
1,488 calls of 48 carts take seconds. Writes one line per cart to CARTS_FILE
in cart-sync.lua's format: "<cart_id> <customer token> <sku> <sku> ...".

Usage: runtimes-carts.py BASE_URL TOKENS_FILE CARTS_FILE SKU...
TOKENS_FILE lines: "customer <id> <token>" (one cart per customer).
Traffic goes to 127.0.0.1 only (BASE_URL must be a loopback address).
"""

import http.client
import json
import sys
import urllib.parse


def main():
    base, tokens_file, carts_file, skus = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    url = urllib.parse.urlparse(base)
    assert url.hostname in ("127.0.0.1", "localhost"), "the benchmark only talks to loopback"
    assert skus, "no SKUs given"
    customers = [line.split()[2] for line in open(tokens_file) if line.startswith("customer ")]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def post(path, token, body, expected):
        conn.request("POST", path, json.dumps(body), {"authorization": f"Bearer {token}", "content-type": "application/json"})
        reply = conn.getresponse()
        data = reply.read()
        # A half-built cart would make the cart rows measure something else.
        if reply.status not in expected:
            raise SystemExit(f"POST {path}: {reply.status} {data[:300]!r}")
        return data

    with open(carts_file, "w") as out:
        for token in customers:
            cart = json.loads(post("/api/carts", token, {"channel": "app"}, (200, 201)))["cart_id"]
            for sku in skus:
                post(f"/api/carts/{cart}/lines", token, {"sku": sku, "quantity": 1}, (200, 201))
            out.write(f"{cart} {token} {' '.join(skus)}\n")


if __name__ == "__main__":
    main()
