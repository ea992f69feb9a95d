-- wrk script for the cart-sync benchmark (driven by infra/bench/cart-sync.sh).
--
-- Reads the carts to use from the file named by CART_BENCH_CARTS, one line per
-- cart: "<cart_id> <customer token> <sku> <sku> ...". Each request picks the
-- next cart (round robin per wrk thread, offset by the thread number) and:
--   CART_BENCH_MODE=add   POST /api/carts/{id}/lines {"sku": <next sku>, "quantity": 1}
--   CART_BENCH_MODE=read  GET  /api/carts/{id}
-- CART_BENCH_PREFER=minimal sends `Prefer: return=minimal` with the adds
-- (answered 204 with the new ETag instead of the whole priced cart).
-- Adds cycle through each cart's own SKUs, so every cart keeps its 30 lines
-- and no line nears the per-line maximum during a 10 s run.

local carts = {}
local counter = 0
local mode = os.getenv("CART_BENCH_MODE") or "read"
local prefer = os.getenv("CART_BENCH_PREFER")
local statuses = {}

local function load_carts()
  local path = os.getenv("CART_BENCH_CARTS") or error("CART_BENCH_CARTS is not set")
  for line in io.lines(path) do
    local fields = {}
    for field in line:gmatch("%S+") do fields[#fields + 1] = field end
    if #fields >= 3 then
      local skus = {}
      for i = 3, #fields do skus[#skus + 1] = fields[i] end
      carts[#carts + 1] = { id = fields[1], token = fields[2], skus = skus }
    end
  end
  if #carts == 0 then error("no carts in " .. path) end
end

local thread_number = 0
function setup(thread)
  thread:set("offset", thread_number)
  thread_number = thread_number + 1
end

function init(args)
  load_carts()
  counter = (offset or 0) * 7
end

function request()
  counter = counter + 1
  local cart = carts[(counter % #carts) + 1]
  local headers = {
    ["authorization"] = "Bearer " .. cart.token,
    ["x-channel"] = "app",
  }
  if mode == "add" then
    local sku = cart.skus[(math.floor(counter / #carts) % #cart.skus) + 1]
    headers["content-type"] = "application/json"
    if prefer and prefer ~= "" then headers["prefer"] = "return=" .. prefer end
    local body = '{"sku":"' .. sku .. '","quantity":1}'
    return wrk.format("POST", "/api/carts/" .. cart.id .. "/lines", headers, body)
  end
  return wrk.format("GET", "/api/carts/" .. cart.id, headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and status ~= 204 and (statuses[status] or 0) <= 3 then
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
end
