-- Cycles over the benchmark's (path, API key) pairs and prints one JSON summary line.
-- gateway_bench.py writes the pairs, one "path key" a line, to the file named by MGBENCH_REQUESTS.
local pairs_file = os.getenv("MGBENCH_REQUESTS")
local prepared = {}
local next_index = 1

function init(args)
    for line in io.lines(pairs_file) do
        local path, key = line:match("^(%S+) (%S+)$")
        prepared[#prepared + 1] = wrk.format("GET", path, { ["X-API-Key"] = key })
    end
end

function request()
    local req = prepared[next_index]
    next_index = next_index % #prepared + 1
    return req
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'MGBENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
        .. '"max_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
