-- wrk script: validate a 30-line basket (POST /api/coupons/validate), the
-- body read from VALIDATE_FILE (written by infra/bench/coupons.sh).
local file = assert(io.open(os.getenv("VALIDATE_FILE"), "r"))
wrk.method = "POST"
wrk.path = "/api/coupons/validate"
wrk.headers["content-type"] = "application/json"
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["authorization"] = "Bearer " .. token
end
wrk.body = file:read("*a")
file:close()

-- wrk counts any answer as a success; count the non-200s so a fast 4xx
-- cannot pass for a fast validation.
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("   non-200 answers: %d\n", bad))
end
