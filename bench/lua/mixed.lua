-- 80% GET a random record by id, 20% PATCH its `views`. Args: coll=posts posts=FILE
dofile("common.lua")

local prefix

function init(args)
  common_init(args)
  prefix = "/api/collections/" .. opts.coll .. "/records/"
end

function request()
  local path = prefix .. random_post_id()
  if math.random(100) <= 20 then
    return wrk.format("PATCH", path, nil, string.format('{"views":%d}', math.random(0, 999)))
  end
  return wrk.format("GET", path)
end
