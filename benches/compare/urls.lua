-- wrk script of benches/compare. With COMPARE_URL_LIST set (a file of
-- request paths, one a line) every request asks for the next path: wrk
-- thread i of COMPARE_WRK_THREADS takes lines i, i + n, i + 2n, ..., so no
-- two requests of a run share a path; a thread that runs out of paths starts
-- its share again and counts it in "wrapped". Without it, wrk asks for the
-- URL of its command line (its fast, static path).
-- In every case done() prints one line, COMPARE_WRK_JSON {...}, with the
-- exact counts and latency percentiles the harness reads.

local list = os.getenv("COMPARE_URL_LIST")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

if list and list ~= "" then
  function init(args)
    local n = tonumber(os.getenv("COMPARE_WRK_THREADS") or "1")
    paths = {}
    local i = 0
    for line in io.lines(list) do
      if line ~= "" then
        if i % n == id - 1 then
          paths[#paths + 1] = line
        end
        i = i + 1
      end
    end
    if #paths == 0 then
      error("no paths for thread " .. id .. " in " .. list)
    end
    index = 0
    wrapped = 0
  end

  function request()
    index = index + 1
    if index > #paths then
      index = 1
      wrapped = wrapped + 1
    end
    return wrk.format(nil, paths[index])
  end
end

function done(summary, latency, requests)
  local wrapped_total = 0
  for _, thread in ipairs(threads) do
    wrapped_total = wrapped_total + (tonumber(thread:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'COMPARE_WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}, ' ..
    '"wrapped": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max,
    wrapped_total))
end
