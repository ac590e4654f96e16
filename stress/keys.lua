-- wrk script for stress/faults.sh and stress/soak.sh: thread 1 sends only
-- valid keys, thread 2 only invalid ones (wrk -t2), so that every response
-- is known to belong to one kind of key; each thread counts the statuses
-- it gets, and done() prints them:
--
--   wrk -t2 -c8 -d10s -s stress/keys.lua URL -- VALID_FILE INVALID_FILE \
--       [QUOTA MARK]
--
-- QUOTA > 0: each thread stops after QUOTA responses (a request count
-- instead of a duration) and creates the file MARK.valid or MARK.invalid;
-- wrk's main thread still sleeps for -d, so the caller sends SIGINT once
-- both files exist (wrk then prints its summary and runs done()).
-- Output lines, after wrk's own summary:
--
--   status valid 200 12345
--   status invalid 401 23456
--   errors connect 0 read 0 write 0 timeout 0
--   total 35801

local threads = {}
local nthreads = 0

function setup(thread)
    nthreads = nthreads + 1
    thread:set("class", nthreads % 2 == 1 and "valid" or "invalid")
    table.insert(threads, thread)
end

local keys = {}
local next_key = 0
local quota = 0
local mark = nil
local got = 0
counts = {}

function init(args)
    local file = class == "valid" and args[1] or args[2]
    local f = assert(io.open(file, "r"))
    for line in f:lines() do
        if #line > 0 then
            table.insert(keys, line)
        end
    end
    f:close()
    quota = tonumber(args[3] or "0") or 0
    mark = args[4]
end

function request()
    next_key = next_key % #keys + 1
    return wrk.format("GET", nil,
                      { ["Authorization"] = "Bearer " .. keys[next_key] })
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    got = got + 1
    if quota > 0 and got == quota then
        wrk.thread:stop()
        if mark then
            local f = io.open(mark .. "." .. class, "w")
            if f then
                f:close()
            end
        end
    end
end

function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do
        local c = t:get("counts")
        local cls = t:get("class")
        for status, n in pairs(c) do
            io.write(string.format("status %s %d %d\n", cls, status, n))
            total = total + n
        end
    end
    local e = summary.errors
    io.write(string.format("errors connect %d read %d write %d timeout %d\n",
                           e.connect, e.read, e.write, e.timeout))
    io.write(string.format("total %d\n", total))
end
