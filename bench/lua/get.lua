-- GET one fixed path (list workloads). Args: path=/api/... [token=...]
dofile("common.lua")

local req

function init(args)
  common_init(args)
  req = wrk.format("GET", opts.path)
end

function request()
  return req
end
