-- wrk script for the runtimes benchmark (driven by infra/bench/runtimes.sh):
-- GET /api/catalog/items/{sku}, the SKUs (space-separated in ITEMS_SKUS,
-- the demo catalogue) in turn, each wrk thread starting at its own offset,
-- so the row reads the whole catalogue rather than one hot row.

local skus = {}
local counter = 0
local thread_number = 0

function setup(thread)
  thread:set("offset", thread_number)
  thread_number = thread_number + 1
end

function init(args)
  for sku in (os.getenv("ITEMS_SKUS") or ""):gmatch("%S+") do skus[#skus + 1] = sku end
  if #skus == 0 then error("ITEMS_SKUS is empty") end
  counter = (offset or 0) * 7
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/api/catalog/items/" .. skus[(counter % #skus) + 1])
end
