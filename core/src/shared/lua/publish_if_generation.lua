-- selo shared-state protocol v1: PUBLISH_IF_GENERATION (docs/shared-state.md).
-- KEYS[1] = selo:{safra:<name>}:record
-- KEYS[2] = selo:{safra:<name>}:lease
-- KEYS[3] = selo:{safra:<name>}:fence
-- ARGV[1] = owner token (the lease holder's)
-- ARGV[2] = fencing number LEASE_ACQUIRE returned (decimal, >= 1)
-- ARGV[3] = expected generation: the one the write replaces, as the stored
--           record's prefix states it (decimal; 0 = no record yet)
-- ARGV[4] = the new sealed record: selo1.<ARGV[5]>.<base64url>
-- ARGV[5] = the new generation (decimal, greater than ARGV[3])
-- Generations are compared as canonical decimal strings (no leading zeros),
-- never as Lua numbers (doubles lose precision past 2^53).
-- Checks, in this order; returns an integer:
--   -5  the arguments were refused (malformed, new generation not greater
--       than the expected one, the record's prefix not ARGV[5], record
--       longer than 65536 bytes)
--   -1  ARGV[1] does not hold the lease (it expired, or another owner has it)
--   -2  the fencing counter moved on: ARGV[2] is not the latest grant
--   -4  the stored record has no selo1.<generation>. prefix (not ours to
--       replace; an operator deletes it)
--   -3  the stored record's generation is not ARGV[3] (another writer
--       published first)
--    1  published: KEYS[1] = ARGV[4], no TTL
local function decimal(s)
  return type(s) == 'string' and #s >= 1 and #s <= 20
      and (s == '0' or string.match(s, '^[1-9]%d*$') ~= nil)
end
local function greater(a, b)
  if #a ~= #b then
    return #a > #b
  end
  return a > b
end
local owner, fence, expected, record, generation =
    ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if type(owner) ~= 'string' or owner == '' or not decimal(fence) or fence == '0'
    or not decimal(expected) or not decimal(generation)
    or not greater(generation, expected) or type(record) ~= 'string'
    or #record > 65536
    or string.match(record, '^selo1%.(%d+)%.') ~= generation then
  return -5
end
if redis.call('GET', KEYS[2]) ~= owner then
  return -1
end
if redis.call('GET', KEYS[3]) ~= fence then
  return -2
end
local stored = redis.call('GET', KEYS[1])
local current = '0'
if stored then
  current = string.match(stored, '^selo1%.([1-9]%d*)%.')
  if current == nil or #current > 20 then
    return -4
  end
end
if current ~= expected then
  return -3
end
redis.call('SET', KEYS[1], record)
return 1
