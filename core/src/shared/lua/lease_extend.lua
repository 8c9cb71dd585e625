-- selo shared-state protocol v1: LEASE_EXTEND (docs/shared-state.md).
-- KEYS[1] = selo:{safra:<name>}:lease
-- ARGV[1] = owner token
-- ARGV[2] = new lease TTL in milliseconds, from now: decimal, 1 to 9 digits,
--           no leading zero
-- Returns an integer:
--    1  extended: the lease is still ARGV[1]'s and now lives ARGV[2] ms
--    0  not extended: the lease is gone or another owner's
--   -1  the arguments were refused (nothing changed)
local owner, ttl = ARGV[1], ARGV[2]
if type(owner) ~= 'string' or owner == '' or type(ttl) ~= 'string'
    or #ttl > 9 or not string.match(ttl, '^[1-9]%d*$') then
  return -1
end
if redis.call('GET', KEYS[1]) == owner then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0
