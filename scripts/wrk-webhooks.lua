-- wrk script: POSTs Gong-shaped webhooks to /webhooks/gong, each with its own call id, so
-- every request creates a new durable job (no duplicate shortcuts).
-- Usage: WEBHOOK_TOKEN=... wrk -t2 -c32 -d20s -s scripts/wrk-webhooks.lua http://127.0.0.1:8080
local counter = 0
local thread_id = 0
local token = os.getenv("WEBHOOK_TOKEN") or "bench-webhook-token-0123456789"

function setup(thread)
  thread_id = thread_id + 1
  thread:set("prefix", thread_id)
end

function request()
  counter = counter + 1
  local call_id = string.format("7%03d%012d", prefix, counter)
  local body = string.format(
    '{"isTest":false,"callData":{"metaData":{"id":"%s","title":"wrk"},' ..
    '"context":[{"system":"Salesforce","objects":[{"objectType":"Opportunity","objectId":"0063t%013d"}]}]}}',
    call_id, counter)
  return wrk.format("POST", "/webhooks/gong", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx/3xx responses: %d\n", summary.errors.status))
  for _, p in pairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%g latency: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
