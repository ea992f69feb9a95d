-- wrk script: a 20-SKU basket at one store (POST /api/availability/basket),
-- the body read from availability-basket.json (BASKET_FILE overrides).
-- Used by infra/bench/availability.sh; BENCH-001 is one of the 500 bench stores.
local file = assert(io.open(os.getenv("BASKET_FILE") or "infra/bench/availability-basket.json", "r"))
wrk.method = "POST"
wrk.path = "/api/availability/basket"
wrk.headers["content-type"] = "application/json"
wrk.body = file:read("*a")
file:close()
