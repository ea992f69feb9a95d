# Generates the bench stores' stock feeds for the SKUs in skus
# (availability.sh, runtimes.sh):
# awk -v n=COUNT -v dir=DIR -v skus="SKU ..." -f gen-stock.awk
BEGIN {
  split(skus, s, " ")
  for (i = 1; i <= n; i++) {
    batch = int((i - 1) / 100)
    file = dir "/stock-" batch ".json"
    if ((i - 1) % 100 == 0) { printf "{\"feeds\": [" > file } else { printf "," > file }
    printf "{\"store_id\": \"BENCH-%03d\", \"sequence\": 1, \"lines\": [", i > file
    for (k = 1; k <= length(s); k++) {
      printf "%s{\"sku\": \"%s\", \"on_hand\": %d}", (k > 1 ? "," : ""), s[k], (i * 7 + k * 3) % 13 > file
    }
    printf "]}" > file
    if (i % 100 == 0 || i == n) { printf "]}\n" > file; close(file) }
  }
}
