-- wrk script for the runtimes benchmark (driven by infra/bench/runtimes.sh):
-- click & collect reservations (POST /api/reservations, 201), one unit of
-- one SKU per reservation, spread so that no stock row is hot:
--
--   RESERVE_TOKENS  file of customer tokens, one per line (the customers
--                   take turns);
--   RESERVE_STORES  space-separated store ids;
--   RESERVE_SKUS    space-separated SKUs, stocked at every one of the stores.
--
-- Request n goes to store n mod #stores and SKU (n div #stores) mod #skus,
-- so consecutive requests lock different (store, SKU) rows and every row
-- is used once per #stores x #skus requests; each wrk thread starts at its
-- own offset. A 409 (out of stock) or any other non-2xx is counted by wrk
-- and the first few are printed.

local tokens, stores, skus = {}, {}, {}
local counter = 0
local thread_number = 0
local statuses = {}

function setup(thread)
  thread:set("offset", thread_number)
  thread_number = thread_number + 1
end

local function words(name)
  local list = {}
  for word in (os.getenv(name) or ""):gmatch("%S+") do list[#list + 1] = word end
  if #list == 0 then error(name .. " is empty") end
  return list
end

function init(args)
  local path = os.getenv("RESERVE_TOKENS") or error("RESERVE_TOKENS is not set")
  for line in io.lines(path) do
    if line:match("%S") then tokens[#tokens + 1] = line:match("%S+") end
  end
  if #tokens == 0 then error("no tokens in " .. path) end
  stores = words("RESERVE_STORES")
  skus = words("RESERVE_SKUS")
  counter = (offset or 0) * 1009
end

function request()
  counter = counter + 1
  local store = stores[(counter % #stores) + 1]
  local sku = skus[(math.floor(counter / #stores) % #skus) + 1]
  local token = tokens[(counter % #tokens) + 1]
  return wrk.format("POST", "/api/reservations",
    { ["authorization"] = "Bearer " .. token, ["content-type"] = "application/json" },
    '{"store_id":"' .. store .. '","lines":[{"sku":"' .. sku .. '","quantity":1}]}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 201 and statuses[status] <= 3 then
    io.stderr:write("status " .. status .. ": " .. body:sub(1, 300) .. "\n")
  end
end
