# Generates n bench stores within 50 km of central Warsaw in batches under
# the 64 KiB body limit (availability.sh, runtimes.sh):
# awk -v n=COUNT -v dir=DIR -f gen-stores.awk
BEGIN {
  pi = atan2(0, -1)
  for (i = 1; i <= n; i++) {
    batch = int((i - 1) / 50)
    file = dir "/stores-" batch ".json"
    if ((i - 1) % 50 == 0) { printf "{\"stores\": [" > file } else { printf "," > file }
    r = 1 + 44 * (i / n); a = i * 2.39996
    lat = 52.2297 + (r / 111.2) * sin(a)
    lon = 21.0122 + (r / (111.2 * cos(52.2297 * pi / 180))) * cos(a)
    d = "[\"09:00-21:00\"]"
    printf "{\"store_id\": \"BENCH-%03d\", \"name\": \"Bench store %d\", \"kind\": \"store\", " \
      "\"address\": {\"street\": \"Testowa %d\", \"city\": \"Warszawa\", \"postal_code\": \"00-001\", \"country\": \"PL\"}, " \
      "\"geo\": {\"lat\": %.6f, \"lon\": %.6f}, \"time_zone\": \"Europe/Warsaw\", " \
      "\"hours\": {\"mon\": %s, \"tue\": %s, \"wed\": %s, \"thu\": %s, \"fri\": %s, \"sat\": %s, \"sun\": []}, " \
      "\"closed_dates\": [\"2026-12-25\", \"2026-12-26\"], \"pickup_sla_minutes\": 120, \"order_cutoff\": \"19:00\", " \
      "\"daily_picking_limit\": 80, \"services\": [\"click_and_collect\", \"ship_from_store\"]}", \
      i, i, i, lat, lon, d, d, d, d, d, d > file
    if (i % 50 == 0 || i == n) { printf "]}\n" > file; close(file) }
  }
}
