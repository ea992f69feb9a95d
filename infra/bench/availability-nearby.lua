-- wrk script: one SKU across the 500 bench stores within 50 km of central
-- Warsaw (GET /api/availability/nearby), the LIMIT nearest (default 20).
-- Used by infra/bench/availability.sh.
wrk.method = "GET"
wrk.path = "/api/availability/nearby?sku=TEE-ORG-BLK-M&lat=52.2297&lon=21.0122&radius_km=50&limit="
  .. (os.getenv("LIMIT") or "20")
