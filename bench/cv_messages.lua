-- wrk script of bench/cv_http_bench.sh: POST /v1/Conversations/{CH}/Messages
-- rotating over the conversations listed in a file, one CH SID per line; the
-- n-th line's conversation has the chat participant customer-n, who is the
-- author. Each wrk thread starts at another conversation, so every
-- conversation receives the same share of the messages.
--
-- usage: wrk -s bench/cv_messages.lua http://HOST:PORT -- AUTH SIDS_FILE
--   AUTH: base64 of ACCOUNT_SID:AUTH_TOKEN

local threads = 0
function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

local requests = {}
local next_request = 1

function init(args)
  local auth, file = args[1], args[2]
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. auth,
  }
  local n = 0
  for sid in io.lines(file) do
    n = n + 1
    -- Requests are formatted once here; request() only hands them out.
    requests[n] = wrk.format("POST", "/v1/Conversations/" .. sid .. "/Messages", headers,
      "Author=customer-" .. n .. "&Body=Hi%2C+I+need+help+with+my+order+" .. n ..
      "%2C+it+has+not+arrived+yet.")
  end
  assert(n > 0, "no conversations in " .. file)
  next_request = (thread_no * 7919) % n + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end
