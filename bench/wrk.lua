-- wrk script for every bench variant: the same GET with a Bearer key,
-- rotating over the first BENCH_NKEYS keys of the file BENCH_KEYS (one
-- token a line), so each of 10,000 keys is used once per 10,000 requests.
-- Requests are built once in init(); done() prints one machine-readable
-- RESULT line for bench/run.sh.

local keys_file = os.getenv("BENCH_KEYS")
local nkeys = tonumber(os.getenv("BENCH_NKEYS") or "10")
local path = os.getenv("BENCH_PATH") or "/api/v1/orgs/acme/workflows/"

local threads = {}
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

local reqs, n, i = {}, 0, 0

function init(args)
    for line in io.lines(keys_file) do
        if n >= nkeys then
            break
        end
        n = n + 1
        reqs[n] = wrk.format("GET", path,
                             { ["Authorization"] = "Bearer " .. line })
    end
    if n == 0 then
        error("bench: no keys in " .. tostring(keys_file))
    end
    -- threads start at different keys
    i = ((id or 0) * 7919) % n
end

function request()
    i = i + 1
    if i > n then
        i = 1
    end
    return reqs[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d "
        .. "non2xx=%d sock_errors=%d\n",
        summary.requests, summary.duration,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99),
        e.status, e.connect + e.read + e.write + e.timeout))
end
