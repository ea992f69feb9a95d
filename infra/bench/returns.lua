-- wrk script for the returns benchmark (driven by infra/bench/returns.sh).
--
-- Reads RETURNS_BENCH_RECEIPTS ("<receipt_id> <customer token>" per line)
-- and RETURNS_BENCH_KIOSK (a store device token of WAW-02). Each wrk
-- thread alternates: open a return of one unit against one of its
-- receipts as the customer (POST /api/returns, 201 with a signed return
-- code), then intake that code at the WAW-02 kiosk (POST
-- /api/returns/intakes, 200, one unit restocked). Codes from the open
-- answers queue up per thread; an intake is sent whenever one is waiting.
-- Every answer must be 201 or 200; other statuses are counted and reported.

local receipts = {}
local codes = {}
local kiosk
local counter = 0
local statuses = {}
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("RETURNS_BENCH_RECEIPTS") or error("RETURNS_BENCH_RECEIPTS is not set")
  kiosk = os.getenv("RETURNS_BENCH_KIOSK") or error("RETURNS_BENCH_KIOSK is not set")
  local step = tonumber(os.getenv("THREADS") or "1")
  local index = 0
  for line in io.lines(path) do
    local receipt, token = line:match("^(%S+)%s+(%S+)$")
    if receipt then
      if index % step == id then receipts[#receipts + 1] = { id = receipt, token = token } end
      index = index + 1
    end
  end
  if #receipts == 0 then error("no receipts for thread " .. id) end
end

function request()
  if #codes > 0 then
    local code = table.remove(codes, 1)
    return wrk.format("POST", "/api/returns/intakes",
      { ["authorization"] = "Bearer " .. kiosk, ["content-type"] = "application/json" },
      '{"code":"' .. code .. '","channel":"kiosk"}')
  end
  local receipt = receipts[(counter % #receipts) + 1]
  counter = counter + 1
  return wrk.format("POST", "/api/returns",
    { ["authorization"] = "Bearer " .. receipt.token, ["content-type"] = "application/json" },
    '{"order_id":"' .. receipt.id .. '","lines":[{"sku":"TEE-ORG-BLK-M","quantity":1}],"channel":"app"}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    local code = body:match('"return_code":{"code":"([^"]+)"')
    if code then codes[#codes + 1] = code end
  elseif status ~= 200 and statuses[status] <= 3 then
    io.stderr:write("status " .. status .. ": " .. body:sub(1, 300) .. "\n")
  end
  opened = statuses[201] or 0
  received = statuses[200] or 0
  other = 0
  for s, n in pairs(statuses) do if s ~= 200 and s ~= 201 then other = other + n end end
end

function done(summary, latency, requests)
  local o, r, x = 0, 0, 0
  for _, thread in ipairs(threads) do
    o = o + (thread:get("opened") or 0)
    r = r + (thread:get("received") or 0)
    x = x + (thread:get("other") or 0)
  end
  io.write(string.format("returns opened (201): %d, intakes (200): %d, other statuses: %d\n", o, r, x))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("  p%-5s %8.2f ms\n", tostring(p), latency:percentile(p) / 1000))
  end
end
