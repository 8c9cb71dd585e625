-- selo shared-state protocol v1: LEASE_ACQUIRE (docs/shared-state.md).
-- KEYS[1] = selo:{safra:<name>}:lease
-- KEYS[2] = selo:{safra:<name>}:fence
-- ARGV[1] = owner token (fresh per transition attempt)
-- ARGV[2] = lease TTL in milliseconds: decimal, 1 to 9 digits, no leading zero
-- Returns an integer:
--   n >= 1   the lease is ARGV[1]'s for ARGV[2] ms (it was free, or already
--            ARGV[1]'s); n is the new fencing number (INCR of KEYS[2])
--   n <= -1  another owner holds the lease for -n more ms (-1 also when
--            under 1 ms or no TTL is known)
--   0        the arguments were refused (nothing changed)
local owner, ttl = ARGV[1], ARGV[2]
if type(owner) ~= 'string' or owner == '' or type(ttl) ~= 'string'
    or #ttl > 9 or not string.match(ttl, '^[1-9]%d*$') then
  return 0
end
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == owner then
  redis.call('SET', KEYS[1], owner, 'PX', ttl)
  return redis.call('INCR', KEYS[2])
end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then
  return -1
end
return -left
