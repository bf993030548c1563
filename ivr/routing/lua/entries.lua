-- A consistent snapshot of the head of the queue in the general order (for lists and positions).
-- KEYS: 1 order
-- ARGV: 1 key prefix, 2 limit (-1 = all)
local limit = tonumber(ARGV[2])
local sids = redis.call('ZRANGE', KEYS[1], 0, limit < 0 and -1 or limit - 1)
local out = {}
for _, sid in ipairs(sids) do
  table.insert(out, redis.call('HGETALL', ARGV[1] .. 'e:' .. sid))
end
return out
