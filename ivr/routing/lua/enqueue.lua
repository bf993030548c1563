-- Add a caller to the queue; idempotent (0 when that CallSid already has an entry).
-- KEYS: 1 order, 2 open, 3 pending, 4 counts, 5 entry hash, 6 skill set (when skill ~= '')
-- ARGV: 1 call_sid, 2 score, 3 priority, 4 rank, 5 skill ('' = anyone), 6 enqueued_at,
--       7 entry TTL seconds (retention; 0 = none), 8.. context field/value pairs ('c:<key>', JSON)
local sid = ARGV[1]
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 0
end
redis.call('HSET', KEYS[5], 'sid', sid, 'priority', ARGV[3], 'rank', ARGV[4], 'skill', ARGV[5],
  'enqueued_at', ARGV[6], 'score', ARGV[2], 'state', 'waiting', 'callback', '0')
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
end
if tonumber(ARGV[7]) > 0 then
  redis.call('EXPIRE', KEYS[5], ARGV[7])
end
redis.call('ZADD', KEYS[1], ARGV[2], sid)
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[2], sid)
  redis.call('ZADD', KEYS[3], ARGV[6], sid)
else
  redis.call('ZADD', KEYS[2], ARGV[2], sid)
end
redis.call('HINCRBY', KEYS[4], ARGV[3], 1)
return 1
