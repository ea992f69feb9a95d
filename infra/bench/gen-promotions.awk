# Generates the benchmarks' live promotions (coupons.sh, runtimes.sh):
# awk -v n=COUNT -v out=FILE -f gen-promotions.awk. What they cover is
# described where coupons.sh calls it.
BEGIN {
  printf "{\"promotions\": [" > out
  for (i = 1; i <= n; i++) {
    kind = i % 4; cond = ""
    if (i <= 20) {
      target = "{\"type\": \"cart\"}"
      if (kind == 2) kind = 0               # no fixed price on a whole cart
      if (kind == 3) kind = 4               # free shipping instead
      if (i % 3 == 0) cond = cond ", \"channels\": [\"app\"]"
      if (i % 5 == 0) cond = cond ", \"loyalty_members_only\": true"
      if (kind == 4 || i % 7 == 0) cond = cond ", \"min_basket\": {\"amount\": \"300.00\", \"currency\": \"PLN\"}"
    } else if (i <= 500) {
      target = sprintf("{\"type\": \"skus\", \"skus\": [\"BENCH-SKU-%04d\", \"BENCH-SKU-%04d\", \"BENCH-SKU-%04d\", \"BENCH-SKU-%04d\", \"BENCH-SKU-%04d\"]}", \
        (i * 37) % 5000, (i * 37 + 101) % 5000, (i * 37 + 202) % 5000, (i * 37 + 303) % 5000, (i * 37 + 404) % 5000)
    } else if (i % 25 == 0) {
      target = sprintf("{\"type\": \"categories\", \"categories\": [[\"dept-%d\"]]}", (i / 25) % 10)
    } else {
      leaf = (i * 7) % 200
      target = sprintf("{\"type\": \"categories\", \"categories\": [[\"dept-%d\", \"cat-%03d\"]]}", int(leaf / 20), leaf)
    }
    if (kind == 0) benefit = sprintf("{\"type\": \"percent_off\", \"percent\": \"%d\"}", 5 + i % 25)
    if (kind == 1) benefit = sprintf("{\"type\": \"amount_off\", \"amount\": {\"amount\": \"%d.00\", \"currency\": \"PLN\"}}", 5 + i % 50)
    if (kind == 2) benefit = sprintf("{\"type\": \"fixed_price\", \"price\": {\"amount\": \"%d.99\", \"currency\": \"PLN\"}}", 20 + i % 40)
    if (kind == 3) benefit = sprintf("{\"type\": \"buy_x_get_y\", \"buy\": %d, \"get\": 1}", 1 + i % 3)
    if (kind == 4) benefit = "{\"type\": \"free_shipping\"}"
    if (i % 4 == 0) cond = cond ", \"valid_from\": \"2026-01-01\", \"valid_until\": \"2027-12-31\""
    code = (i == n) ? ", \"codes\": [\"BENCH10\"]" : ""
    printf "%s{\"id\": \"BENCH-%04d\", \"name\": \"Bench promotion %d\", \"benefit\": %s, \"target\": %s, " \
      "\"conditions\": {%s}, \"exclusions\": {\"discounted_lines\": %s}, \"time_zone\": \"Europe/Warsaw\", " \
      "\"stacking\": \"%s\", \"priority\": %d%s}", (i > 1 ? "," : ""), i, i, benefit, target, substr(cond, 3), \
      (i % 9 == 0 ? "true" : "false"), (i % 2 ? "exclusive" : "stackable"), i % 10, code > out
  }
  printf "]}\n" > out
  close(out)
}
