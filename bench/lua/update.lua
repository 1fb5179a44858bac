-- PATCH `views` of a random seeded record. Args: coll=posts posts=FILE
dofile("common.lua")

local prefix

function init(args)
  common_init(args)
  prefix = "/api/collections/" .. opts.coll .. "/records/"
end

function request()
  local body = string.format('{"views":%d}', math.random(0, 999))
  return wrk.format("PATCH", prefix .. random_post_id(), nil, body)
end
