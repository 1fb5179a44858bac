-- A read-mostly mix: GET one fixed path, and `writes` percent of the time PATCH `views` of a
-- random seeded record of `coll` (the collection the path reads, so every write changes what the
-- reads see). Args: path=/api/... coll=posts posts=FILE writes=5
dofile("common.lua")

local read, prefix, writes

function init(args)
  common_init(args)
  read = wrk.format("GET", opts.path)
  prefix = "/api/collections/" .. opts.coll .. "/records/"
  writes = tonumber(opts.writes or "5")
end

function request()
  if math.random(100) <= writes then
    local body = string.format('{"views":%d}', math.random(0, 999))
    return wrk.format("PATCH", prefix .. random_post_id(), nil, body)
  end
  return read
end
