-- Raise a caller's class in place: keeps enqueued_at (so FCFS within the new class is fair),
-- never lowers the class, and merges the context update (shallow: one hash field per key).
-- KEYS: 1 order, 2 open, 3 counts, 4 entry hash
-- ARGV: 1 key prefix, 2 call_sid, 3 new priority, 4 new rank, 5 new score,
--       6.. context field/value pairs ('c:<key>', JSON)
local prefix, sid = ARGV[1], ARGV[2]
local state = redis.call('HGET', KEYS[4], 'state')
if not state then
  return 0
end
for i = 6, #ARGV, 2 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
end
local old_rank = tonumber(redis.call('HGET', KEYS[4], 'rank'))
if tonumber(ARGV[4]) <= old_rank then
  return 1
end
local old_priority = redis.call('HGET', KEYS[4], 'priority')
redis.call('HSET', KEYS[4], 'priority', ARGV[3], 'rank', ARGV[4], 'score', ARGV[5])
if state == 'waiting' then
  redis.call('HINCRBY', KEYS[3], old_priority, -1)
  redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
  redis.call('ZADD', KEYS[1], 'XX', ARGV[5], sid)
  redis.call('ZADD', KEYS[2], 'XX', ARGV[5], sid)
  local skill = redis.call('HGET', KEYS[4], 'skill')
  if skill and skill ~= '' then
    redis.call('ZADD', prefix .. 'skill:' .. skill, 'XX', ARGV[5], sid)
  end
end
return 2
