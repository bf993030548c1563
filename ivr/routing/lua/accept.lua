-- Give the next eligible caller to an agent, atomically (no two agents get the same caller).
-- Skill-restricted entries whose skill wait has run out are first moved to the open set
-- (each entry is moved once, so this is amortised O(log N)); then the best of the heads of the
-- open set and of the agent's skill sets wins (lowest score, ties by CallSid like ZRANGE).
-- KEYS: 1 order, 2 open, 3 pending, 4 counts, 5 agents (agent -> sid), 6 assigned,
--       7.. the agent's skill sets
-- ARGV: 1 key prefix, 2 agent id, 3 now, 4 skill_wait_seconds
local prefix, agent, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local current = redis.call('HGET', KEYS[5], agent)
if current then
  return {'busy', current}
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]))
for _, sid in ipairs(expired) do
  local ek = prefix .. 'e:' .. sid
  local skill = redis.call('HGET', ek, 'skill')
  local score = redis.call('HGET', ek, 'score')
  if skill and skill ~= '' then
    redis.call('ZREM', prefix .. 'skill:' .. skill, sid)
  end
  if score then
    redis.call('ZADD', KEYS[2], score, sid)
  end
  redis.call('ZREM', KEYS[3], sid)
end

-- Bounded: a stray id (a set member without its entry hash) is removed from every set it is
-- found in, so each pass makes progress; the bound keeps Redis responsive whatever the data.
for _ = 1, 1000 do
  local best, best_score = nil, nil
  for k = 2, #KEYS do
    if k == 2 or k >= 7 then
      local head = redis.call('ZRANGE', KEYS[k], 0, 0, 'WITHSCORES')
      if head[1] then
        local s = tonumber(head[2])
        if best == nil or s < best_score or (s == best_score and head[1] < best) then
          best, best_score = head[1], s
        end
      end
    end
  end
  if best == nil then
    return {'none'}
  end
  local ek = prefix .. 'e:' .. best
  local skill = redis.call('HGET', ek, 'skill')
  local priority = redis.call('HGET', ek, 'priority')
  redis.call('ZREM', KEYS[1], best)
  redis.call('ZREM', KEYS[2], best)
  redis.call('ZREM', KEYS[3], best)
  if skill and skill ~= '' then
    redis.call('ZREM', prefix .. 'skill:' .. skill, best)
  end
  if priority then
    redis.call('HINCRBY', KEYS[4], priority, -1)
    redis.call('HSET', ek, 'state', 'assigned', 'agent', agent, 'accepted_at', ARGV[3],
      'status', 'accepted')
    redis.call('HSET', KEYS[5], agent, best)
    redis.call('ZADD', KEYS[6], now, best)
    local out = redis.call('HGETALL', ek)
    table.insert(out, 1, 'ok')
    return out
  end
  -- a set member without its entry hash (should not happen): drop it everywhere, look again
  for k = 2, #KEYS do
    if k == 2 or k == 3 or k >= 7 then
      redis.call('ZREM', KEYS[k], best)
    end
  end
end
return {'none'}
