-- wrk script: POST one GraphQL body (file $BODY_FILE) with optional
-- Authorization ($AUTH), check every response, and print one RESULT line.
-- A response counts as an error unless it is HTTP 200 with a "data" key and
-- no "errors" key. With $CLASSIFY=login, responses are also counted by
-- outcome (success, RATE_LIMITED, SERVICE_UNAVAILABLE, other).

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local auth = os.getenv("AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.body = f:read("*a")
f:close()

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  ok_login = 0
  rate_limited = 0
  unavailable = 0
  other = 0
  non200 = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
  local good = status == 200 and body:find('"data"', 1, true) and not body:find('"errors"', 1, true)
  if not good then
    bad = bad + 1
  end
  if body:find('accessToken', 1, true) then
    ok_login = ok_login + 1
  elseif body:find('RATE_LIMITED', 1, true) then
    rate_limited = rate_limited + 1
  elseif body:find('SERVICE_UNAVAILABLE', 1, true) then
    unavailable = unavailable + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local sum = { bad = 0, ok_login = 0, rate_limited = 0, unavailable = 0, other = 0, non200 = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(sum) do
      sum[k] = sum[k] + (t:get(k) or 0)
    end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d socket_errors=%d non200=%d login_ok=%d rate_limited=%d unavailable=%d other=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    sum.bad + socket, socket, sum.non200, sum.ok_login, sum.rate_limited, sum.unavailable, sum.other))
end
