-- wrk script for bench/run.sh: plain GETs (wrk's static request, no Lua per
-- request) and one machine-readable summary line at the end.
-- Latencies are in microseconds; errors are socket errors (connect, read,
-- write, timeout) plus HTTP responses with status >= 400 as counted by wrk.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKSTATS requests=%d duration_us=%d errors=%d socket_errors=%d status_errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout + e.status,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
