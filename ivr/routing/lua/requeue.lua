-- Put an assigned caller back at their old place (agent did not answer, REST hiccup).
-- KEYS: 1 order, 2 open, 3 pending, 4 counts, 5 agents, 6 assigned, 7 entry hash
-- ARGV: 1 key prefix, 2 call_sid
local prefix, sid = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[7], 'state') ~= 'assigned' then
  return 0
end
local agent = redis.call('HGET', KEYS[7], 'agent')
if agent and redis.call('HGET', KEYS[5], agent) == sid then
  redis.call('HDEL', KEYS[5], agent)
end
redis.call('ZREM', KEYS[6], sid)
redis.call('HSET', KEYS[7], 'state', 'waiting')
redis.call('HDEL', KEYS[7], 'agent', 'accepted_at', 'status')
local score = redis.call('HGET', KEYS[7], 'score')
local skill = redis.call('HGET', KEYS[7], 'skill')
redis.call('ZADD', KEYS[1], score, sid)
if skill and skill ~= '' then
  redis.call('ZADD', prefix .. 'skill:' .. skill, score, sid)
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[7], 'enqueued_at'), sid)
else
  redis.call('ZADD', KEYS[2], score, sid)
end
redis.call('HINCRBY', KEYS[4], redis.call('HGET', KEYS[7], 'priority'), 1)
return 1
