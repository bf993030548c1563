-- Set fields on an entry only if it still exists (never resurrect a finished entry).
-- KEYS: 1 entry hash
-- ARGV: field/value pairs
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
