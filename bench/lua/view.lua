-- GET a random seeded record by id. Args: coll=posts posts=FILE [token=...]
dofile("common.lua")

local prefix

function init(args)
  common_init(args)
  prefix = "/api/collections/" .. opts.coll .. "/records/"
end

function request()
  return wrk.format("GET", prefix .. random_post_id())
end
