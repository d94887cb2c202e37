-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script of bench-rsvp: with a file of RSVP tokens as its argument it
-- posts accepts ("response=accept&party_size=1", asking for JSON), each
-- request to the next token, every thread starting at its own place;
-- without one it sends wrk's plain GET (for /healthz). At the end it prints
-- one line of figures that bench-rsvp reads.

local tokens = {}
local next_index = 0
local thread_count = 0

function setup(thread)
  thread:set("id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  if args[1] ~= nil then
    for line in io.lines(args[1]) do
      if #line > 0 then
        tokens[#tokens + 1] = line
      end
    end
    -- Threads start far apart, so that they answer for different guests.
    next_index = (id * 7919) % #tokens
  end
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Accept"] = "application/json",
}
local body = "response=accept&party_size=1"

function request()
  if #tokens == 0 then
    return wrk.format(nil)
  end
  next_index = next_index + 1
  return wrk.format("POST", "/r/" .. tokens[(next_index % #tokens) + 1], headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout))
end
