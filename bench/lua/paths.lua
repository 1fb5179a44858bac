-- GET paths from a file in turn (each thread from its own offset). Args: paths=FILE [token=...]
dofile("common.lua")

local paths = {}
local i = 0

function init(args)
  common_init(args)
  for line in io.lines(opts.paths) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = (tonumber(tid) or 0) * 7
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
