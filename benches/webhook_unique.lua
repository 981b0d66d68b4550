-- wrk script for webhook_unique.sh: every request carries a body of its own (distinct
-- `request_id`, signed), so every request is a new delivery for both servers, none a duplicate.
-- BODIES names a file of "signature<TAB>body" lines; THREADS is wrk's -t. Thread k sends lines
-- k+1, k+1+THREADS, ... so no two threads send the same body; a thread that runs out starts over
-- (then its requests are duplicates: webhook_unique.sh makes the file larger than a run needs).
local threads = tonumber(os.getenv("THREADS") or "1")
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local sigs, bodies, n, i = {}, {}, 0, 0

function init(args)
  local line_no = 0
  for line in io.lines(os.getenv("BODIES")) do
    if line_no % threads == id then
      local tab = line:find("\t", 1, true)
      n = n + 1
      sigs[n] = line:sub(1, tab - 1)
      bodies[n] = line:sub(tab + 1)
    end
    line_no = line_no + 1
  end
end

function request()
  i = i % n + 1
  return wrk.format("POST", "/webhook", {
    ["Content-Type"] = "application/json",
    ["X-Signature-256"] = sigs[i],
    -- The peer deduplicates on this header, summarybot on the body: both distinct here.
    ["X-Request-Id"] = id .. "-" .. i,
  }, bodies[i])
end
