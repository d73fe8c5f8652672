-- wrk script for nginx-style forward-auth checks: GET /auth/request with
-- the cookies of browsers that `load me -cookies-out FILE` logged in, in
-- turn, and the original URI nginx would send (ORIGINAL_URI, default
-- /c/bench/).
--   COOKIES=FILE wrk -t1 -c32 -d10s --latency -s test/load/wrk-auth.lua http://127.0.0.1:18080/auth/request
local cookies = {}
for line in io.lines(os.getenv("COOKIES")) do
  if line ~= "" then cookies[#cookies + 1] = line end
end
if #cookies == 0 then error("no cookies in " .. tostring(os.getenv("COOKIES"))) end
local uri = os.getenv("ORIGINAL_URI") or "/c/bench/"
local i = 0
request = function()
  i = i % #cookies + 1
  return wrk.format("GET", nil, { Cookie = cookies[i], ["X-Original-URI"] = uri })
end
