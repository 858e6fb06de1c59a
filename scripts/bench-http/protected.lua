-- wrk script: load test of POST /api/transfer with valid, single-use ASH proofs.
--
--   venv/bin/python issue_contexts.py http://127.0.0.1:PORT 20000 proofs.txt   (ash-sdk venv)
--   ASH_PROOFS=proofs.txt ASH_THREADS=2 wrk -t2 -c16 -d10s -s protected.lua http://127.0.0.1:PORT
--
-- ASH_PROOFS: file of "contextId proof" lines (issue_contexts.py).
-- ASH_THREADS: must equal wrk's -t. wrk does not expose its thread count to
--   scripts, and each thread needs it to take its own slice: thread k uses
--   lines k+1, k+1+T, k+1+2T, ... so no context is ever sent twice.
--
-- A context is accepted once, so every line is one valid request. When a
-- thread runs out of lines it calls wrk.thread:stop() instead of looping back:
-- looping would turn the rest of the run into replays (409s), which are a
-- different, cheaper code path and would blur the accepted-request numbers.
-- request() must still return something for the write already under way, so
-- each connection of that thread sends at most one request without a context
-- id while the thread winds down: the server rejects it (400
-- ASH_INVALID_CONTEXT) without touching any context. wrk keeps sleeping for
-- the full -d and divides by it, so if done() reports exhausted threads the
-- printed Requests/sec is understated: issue more contexts or shorten -d.
--
-- wrk calls request() once on thread 0 before the run to check the request
-- parses; that call takes thread 0's first line, which is then never sent
-- (it is still counted in "contexts used").

-- Must stay byte-identical to BODY in issue_contexts.py: the proofs cover it.
local BODY = '{"amount":25,"to":"alice"}'
local PATH = "/api/transfer"

-- Main Lua state: setup() is called once per thread, before that thread starts.
local threads = {}

function setup(thread)
   local expected = tonumber(os.getenv("ASH_THREADS") or "")
   if not expected then
      error("set ASH_THREADS to the value of wrk's -t")
   end
   if #threads >= expected then
      error(string.format("wrk runs more threads than ASH_THREADS=%d; slices would overlap", expected))
   end
   thread:set("thread_index", #threads)
   thread:set("thread_count", expected)
   threads[#threads + 1] = thread
end

-- Per-thread Lua state from here on. counters and by_status are globals
-- because done() reads them with thread:get, which only sees globals.
local queue = {}       -- pre-formatted requests of this thread's slice
local next_request = 1
local spent_request = nil
counters = { used = 0, ok = 0, non2xx = 0, exhausted = 0 }
by_status = {}

function init(args)
   local path = os.getenv("ASH_PROOFS")
   if not path then
      error("set ASH_PROOFS to the file written by issue_contexts.py")
   end
   local file = assert(io.open(path, "r"))
   local line_number = 0
   local slot = 0
   for line in file:lines() do
      line_number = line_number + 1
      if line:find("%S") then
         local context_id, proof = line:match("^(%S+)%s+(%S+)%s*$")
         if not context_id then
            error(string.format("%s:%d: expected 'contextId proof'", path, line_number))
         end
         if slot % thread_count == thread_index then
            -- Formatting here keeps the measured loop to an array lookup.
            local headers = {}
            for name, value in pairs(wrk.headers) do headers[name] = value end
            headers["Content-Type"] = "application/json"
            headers["x-ash-context-id"] = context_id
            headers["x-ash-proof"] = proof
            queue[#queue + 1] = wrk.format("POST", PATH, headers, BODY)
         end
         slot = slot + 1
      end
   end
   file:close()
   if #queue == 0 then
      error(string.format("%s has no lines for thread %d of %d", path, thread_index, thread_count))
   end
end

function request()
   local req = queue[next_request]
   if req then
      queue[next_request] = nil -- free it; it is never sent again
      next_request = next_request + 1
      counters.used = counters.used + 1
      return req
   end
   if counters.exhausted == 0 then
      counters.exhausted = 1
      wrk.thread:stop()
      local headers = {}
      for name, value in pairs(wrk.headers) do headers[name] = value end
      headers["Content-Type"] = "application/json"
      spent_request = wrk.format("POST", PATH, headers, BODY)
   end
   return spent_request
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      counters.ok = counters.ok + 1
   else
      counters.non2xx = counters.non2xx + 1
      by_status[status] = (by_status[status] or 0) + 1
   end
end

-- Main state again, after all threads have finished.
function done(summary, latency, requests)
   local totals = { used = 0, ok = 0, non2xx = 0, exhausted = 0 }
   local statuses = {}
   for _, thread in ipairs(threads) do
      local c = thread:get("counters")
      for key in pairs(totals) do totals[key] = totals[key] + c[key] end
      for status, n in pairs(thread:get("by_status")) do
         statuses[status] = (statuses[status] or 0) + n
      end
   end

   local parts = {}
   for status, n in pairs(statuses) do parts[#parts + 1] = string.format("%s=%d", status, n) end
   table.sort(parts)

   io.write(string.format("ASH contexts used: %d (threads %d)\n", totals.used, #threads))
   io.write(string.format("ASH responses 2xx: %d, non-2xx: %d%s\n", totals.ok, totals.non2xx,
      #parts > 0 and (" (" .. table.concat(parts, ", ") .. ")") or ""))
   if totals.exhausted > 0 then
      io.write(string.format("ASH WARNING: %d of %d threads ran out of contexts and stopped early; "
         .. "Requests/sec above is understated, issue more contexts\n", totals.exhausted, #threads))
   end
   local expected = tonumber(os.getenv("ASH_THREADS") or "")
   if expected and expected ~= #threads then
      io.write(string.format("ASH WARNING: ASH_THREADS=%d but wrk ran %d threads; some lines were unused\n",
         expected, #threads))
   end
end
