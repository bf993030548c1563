-- Mark a waiting caller as call-back: they hang up and keep their place in the order.
-- KEYS: 1 entry hash
-- ARGV: 1 number to call back, 2 number to call from, 3 retention of the number (seconds)
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then
  return 0
end
redis.call('HSET', KEYS[1], 'callback', '1', 'cb_to', ARGV[1], 'cb_from', ARGV[2])
if tonumber(ARGV[3] or '0') > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 1
