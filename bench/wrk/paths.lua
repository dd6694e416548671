-- wrk script for bench/run.sh's many-service steps: rotates the request path
-- over the generated services /s0000/x … (args: COUNT WIDTH), so every
-- service's route is exercised, and prints the same summary line as stats.lua.
local reqs, i = {}, 0

init = function(args)
  local n = tonumber(args[1]) or 1000
  local width = tonumber(args[2]) or 4
  local fmt = "/s%0" .. width .. "d/x"
  for k = 0, n - 1 do
    reqs[k + 1] = wrk.format(nil, string.format(fmt, k))
  end
  i = math.random(0, n - 1)
end

request = function()
  i = i % #reqs + 1
  return reqs[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKSTATS requests=%d duration_us=%d errors=%d socket_errors=%d status_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
