-- POST a new record with a random author. Args: coll=NAME users=FILE
dofile("common.lua")

local path
local n = 0

function init(args)
  common_init(args)
  path = "/api/collections/" .. opts.coll .. "/records"
end

function request()
  n = n + 1
  local body = string.format(
    '{"title":"bench post %d-%d","body":"Created by the benchmark load generator.",' ..
    '"views":%d,"published":%s,"author":"%s"}',
    tonumber(tid) or 0, n, math.random(0, 999),
    (n % 2 == 0) and "true" or "false", random_user_id())
  return wrk.format("POST", path, nil, body)
end
