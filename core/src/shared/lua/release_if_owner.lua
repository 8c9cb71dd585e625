-- selo shared-state protocol v1: RELEASE_IF_OWNER (docs/shared-state.md).
-- KEYS[1] = selo:{safra:<name>}:lease
-- ARGV[1] = owner token
-- Returns an integer:
--    1  released: the lease was ARGV[1]'s and is deleted
--    0  nothing to release: the lease is gone or another owner's (untouched)
--   -1  the arguments were refused (nothing changed)
local owner = ARGV[1]
if type(owner) ~= 'string' or owner == '' then
  return -1
end
if redis.call('GET', KEYS[1]) == owner then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
