"""A limit on concurrent work per endpoint, shared by every worker through Redis.

Each holder is a member of a sorted set scored by its expiry time; a slot is
taken with one Lua script (drop expired holders, count, add) so two workers
never both take the last one. Holders refresh their expiry while they work, so
a killed worker's slot frees itself after `ttl` seconds. Without Redis there
is no limit: the limit protects vCenter, it must never stop a deployment.
"""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger(__name__)

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class EndpointSlots:
    def __init__(self, client: redis.Redis | None, endpoint_id: int, limit: int,
                 ttl: float = 120.0):
        self.client, self.limit, self.ttl = client, max(1, limit), ttl
        self.key = f"nestlab:slots:endpoint:{endpoint_id}"

    def take(self, holder: str) -> bool:
        """Take a slot for `holder`; False when all are busy."""
        if self.client is None:
            return True
        now = time.time()
        try:
            return bool(self.client.eval(_TAKE, 1, self.key, now, self.limit, now + self.ttl,
                                         holder, int(self.ttl * 2) + 1))
        except redis.RedisError as exc:
            log.warning("endpoint slots unavailable (%s); going on without the limit", exc)
            return True

    def refresh(self, holder: str) -> None:
        if self.client is None:
            return
        try:
            self.client.zadd(self.key, {holder: time.time() + self.ttl}, xx=True)
        except redis.RedisError:
            pass

    def release(self, holder: str) -> None:
        if self.client is None:
            return
        try:
            self.client.zrem(self.key, holder)
        except redis.RedisError:
            pass

    def holders(self) -> int:
        return int(self.client.zcount(self.key, time.time(), "+inf")) if self.client else 0
