-- POST a booking request for a new free slot each time: 30-minute afternoon slots (13:00-18:00
-- China time, left free by bench/seed.py), Monday to Friday from BENCH_WEEK on, round-robin over
-- BENCH_INSTRUMENTS. Logged in with BENCH_COOKIE / BENCH_CSRF. Run with one wrk thread (-t1) so
-- the slot counter is shared by all connections. BENCH_FIRST_SLOT starts the counter elsewhere, so
-- a request still in flight when an earlier run stopped cannot collide with this run.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  cookie = os.getenv("BENCH_COOKIE")
  csrf = os.getenv("BENCH_CSRF")
  ids = {}
  for id in string.gmatch(os.getenv("BENCH_INSTRUMENTS"), "%d+") do
    table.insert(ids, id)
  end
  local y, m, d = os.getenv("BENCH_WEEK"):match("(%d+)-(%d+)-(%d+)")
  monday = os.time({year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12})
  counter = tonumber(os.getenv("BENCH_FIRST_SLOT") or "0")
  statuses = {}
end

function request()
  local i = counter
  counter = counter + 1
  local instrument = ids[(i % #ids) + 1]
  local j = math.floor(i / #ids)
  local slot = j % 10
  local k = math.floor(j / 10)
  local day = (k % 5) + 7 * math.floor(k / 5)
  local date = os.date("%Y-%m-%d", monday + day * 86400)
  local s = 13 * 60 + 30 * slot
  local e = s + 30
  local body = string.format(
    "csrf_token=%s&date=%s&start_time=%02d:%02d&end_time=%02d:%02d&purpose=bench&sample_count=1&confirm=Confirm",
    csrf, date, math.floor(s / 60), s % 60, math.floor(e / 60), e % 60)
  return wrk.format("POST", "/instruments/" .. instrument .. "/book",
    {["Cookie"] = "session=" .. cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      io.write(string.format("status %d: %d\n", code, n))
    end
  end
end
