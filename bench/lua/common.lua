-- Shared by every workload script: argument parsing, per-thread random seed,
-- id lists, auth header and a machine-readable summary line for the harness.
--
-- Scripts are run by wrk with cwd = bench/lua and arguments after `--` as
-- key=value pairs: posts=FILE users=FILE token=TOKEN path=/api/... coll=NAME

local threads_started = 0

-- Runs in the main Lua state, once per wrk thread: gives each thread a
-- distinct, fixed seed so both servers see the same id sequence.
function setup(thread)
  threads_started = threads_started + 1
  thread:set("tid", threads_started)
end

opts = {}

local function read_lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if #line > 0 then out[#out + 1] = line end
  end
  return out
end

-- Parses key=value args, loads the id lists and sets the default headers.
function common_init(args)
  for _, a in ipairs(args) do
    local k, v = a:match("^([^=]+)=(.*)$")
    if k then opts[k] = v end
  end
  math.randomseed(1000 + (tonumber(tid) or 0))
  post_ids = read_lines(opts.posts)
  user_ids = read_lines(opts.users)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
  if opts.token ~= nil and opts.token ~= "" then
    wrk.headers["Authorization"] = opts.token
  end
end

function random_post_id()
  return post_ids[math.random(#post_ids)]
end

function random_user_id()
  return user_ids[math.random(#user_ids)]
end

-- One JSON line that the harness parses; latencies are in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
