-- Take a waiting caller out of the queue (hang-up). A call-back entry is kept when asked
-- (the caller hung up on purpose and keeps their place); an assigned entry stays for its agent.
-- KEYS: 1 order, 2 open, 3 pending, 4 counts
-- ARGV: 1 key prefix, 2 call_sid, 3 keep_callback ('1'/'0')
local prefix, sid = ARGV[1], ARGV[2]
local ek = prefix .. 'e:' .. sid
local state = redis.call('HGET', ek, 'state')
if not state then
  return {'absent'}
end
if state ~= 'waiting' then
  return {state}
end
if ARGV[3] == '1' and redis.call('HGET', ek, 'callback') == '1' then
  return {'kept'}
end
local skill = redis.call('HGET', ek, 'skill')
local priority = redis.call('HGET', ek, 'priority')
redis.call('ZREM', KEYS[1], sid)
redis.call('ZREM', KEYS[2], sid)
redis.call('ZREM', KEYS[3], sid)
if skill and skill ~= '' then
  redis.call('ZREM', prefix .. 'skill:' .. skill, sid)
end
redis.call('HINCRBY', KEYS[4], priority, -1)
local out = redis.call('HGETALL', ek)
redis.call('DEL', ek)
table.insert(out, 1, 'removed')
return out
