-- An agent is done with their caller: free the agent and drop the entry (returned to the caller
-- of the script for the outcome record).
-- KEYS: 1 agents, 2 assigned
-- ARGV: 1 key prefix, 2 agent id
local sid = redis.call('HGET', KEYS[1], ARGV[2])
if not sid then
  return {'none'}
end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], sid)
local ek = ARGV[1] .. 'e:' .. sid
local out = redis.call('HGETALL', ek)
redis.call('DEL', ek)
table.insert(out, 1, 'ok')
return out
