-- wrk script for the session check: GET /api/me with the cookies of
-- browsers that `load me -cookies-out FILE` logged in, in turn.
--   COOKIES=FILE wrk -t1 -c32 -d10s --latency -s test/load/wrk-me.lua http://127.0.0.1:18080/c/bench/api/me
local cookies = {}
for line in io.lines(os.getenv("COOKIES")) do
  if line ~= "" then cookies[#cookies + 1] = line end
end
if #cookies == 0 then error("no cookies in " .. tostring(os.getenv("COOKIES"))) end
local i = 0
request = function()
  i = i % #cookies + 1
  return wrk.format("GET", nil, { Cookie = cookies[i] })
end
