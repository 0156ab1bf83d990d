-- One wrk script for every RPC benchmark; the call is chosen by the
-- environment: BENCH_CALL = version | list | test | cycle, BENCH_SESSION
-- = user:secret. Every answer is checked: HTTP status 200 and, for the
-- pci.* answer, a first <boolean> of 1 (a multicall's answers are all
-- checked). done() prints one JSON line that bench/run.sh collects.
local call = os.getenv("BENCH_CALL") or "version"
local sess = os.getenv("BENCH_SESSION") or "oneadmin:secret"
local threads = {}
local counter = 0

local function mcall(name, params)
  return '<?xml version="1.0"?><methodCall><methodName>' .. name ..
    '</methodName><params>' .. params .. '</params></methodCall>'
end
local function p(v) return '<param><value>' .. v .. '</value></param>' end
local S = p(sess)
local REQ = '<array><data><value><struct><member><name>CLASS</name>' ..
  '<value>0200</value></member></struct></value></data></array>'

local fixed = {
  version = mcall("pci.version", S),
  list = mcall("pci.list", S),
  test = mcall("pci.test", S .. p(REQ)),
}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  faults = 0
  answers = 0
  counter = 0
  if fixed[call] then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "text/xml"
    wrk.body = fixed[call]
  end
end

-- one allocate + release cycle per HTTP request, a new VM each time:
-- thread t uses vmids t*10^8 + 1, + 2, ...
local function member(name, v)
  return '<member><name>' .. name .. '</name><value>' .. v .. '</value></member>'
end
local function sub(name, params)
  return '<value><struct>' .. member('methodName', name) ..
    member('params', '<array><data>' .. params .. '</data></array>') ..
    '</struct></value>'
end

if call == "cycle" then
  request = function()
    counter = counter + 1
    local vm = '<value><int>' .. (tid * 100000000 + counter) .. '</int></value>'
    local sv = '<value>' .. sess .. '</value>'
    local body = mcall("system.multicall", p('<array><data>' ..
      sub('pci.allocate', sv .. vm .. '<value>' .. REQ .. '</value>') ..
      sub('pci.release', sv .. vm) .. '</data></array>'))
    return wrk.format("POST", "/RPC2", {["Content-Type"] = "text/xml"}, body)
  end
end

response = function(status, headers, body)
  answers = answers + 1
  if status ~= 200 then faults = faults + 1 return end
  if call == "cycle" then
    -- every sub-answer's [true, ...]: no <boolean>0 and no <fault>
    if body:find("<boolean>0</boolean>", 1, true) or body:find("<fault>", 1, true) then
      faults = faults + 1
    end
    return
  end
  local i = body:find("<boolean>", 1, true)
  if not i or body:sub(i + 9, i + 9) ~= "1" then faults = faults + 1 end
end

function done(summary, latency, requests)
  local f, a = 0, 0
  for _, t in ipairs(threads) do
    f = f + (t:get("faults") or 0)
    a = a + (t:get("answers") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format('{"requests": %d, "seconds": %.3f, "rps": %.1f, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "faults": %d, ' ..
    '"answers": %d, "socket_errors": %d, "non2xx": %d, "bytes": %d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, f, a,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, summary.bytes))
end
