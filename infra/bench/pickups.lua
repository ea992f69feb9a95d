-- wrk script for the pickups benchmark (driven by infra/bench/pickups.sh).
--
-- Reads PICKUPS_BENCH_ORDERS, one line per placed order: "<order_id> <token
-- of a device of its store>". Each wrk thread takes every THREADS-th order
-- and moves its orders through the click & collect statuses in waves: all
-- to accepted, then all to picking, then ready_for_pickup (queues a push),
-- then picked_up (fulfils the reservation and queues a push). An order's
-- next move comes thousands of requests after its previous one, so the
-- concurrent connections never race on one order. Every answer must be
-- 200; other statuses are counted and reported.

local orders = {}
local phases = { "accepted", "picking", "ready_for_pickup", "picked_up" }
local counter = 0
local statuses = {}
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("PICKUPS_BENCH_ORDERS") or error("PICKUPS_BENCH_ORDERS is not set")
  local step = tonumber(os.getenv("THREADS") or "1")
  local index = 0
  for line in io.lines(path) do
    local order, token = line:match("^(%S+)%s+(%S+)$")
    if order then
      if index % step == id then orders[#orders + 1] = { id = order, token = token } end
      index = index + 1
    end
  end
  if #orders == 0 then error("no orders for thread " .. id) end
end

function request()
  local phase = math.floor(counter / #orders) + 1
  if phase > #phases then phase = #phases end
  local order = orders[(counter % #orders) + 1]
  counter = counter + 1
  local body = '{"status":"' .. phases[phase] .. '"}'
  return wrk.format("POST", "/api/orders/" .. order.id .. "/transitions",
    { ["authorization"] = "Bearer " .. order.token, ["content-type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and statuses[status] <= 3 then
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
  ok = statuses[200] or 0
  other = 0
  for s, n in pairs(statuses) do if s ~= 200 then other = other + n end end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_other = total_other + (thread:get("other") or 0)
  end
  io.write(string.format("transitions answered 200: %d, other statuses: %d\n", total_ok, total_other))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("  p%-5s %8.2f ms\n", tostring(p), latency:percentile(p) / 1000))
  end
end
