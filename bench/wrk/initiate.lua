-- wrk script: POST /v1/download/initiate with a new file id each request.
-- Each wrk thread counts from its own offset, so ids do not repeat across threads.
local counter = 0
local offset = 0

function setup(thread)
  thread:set("offset", math.random(0, 1000) * 100000)
end

function init(args)
  offset = tonumber(offset) or 0
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local file_id = 10000 + ((offset + counter) % 90000000)
  return wrk.format(nil, nil, nil, '{"file_id": ' .. file_id .. '}')
end
