"""What relay and Redis exchange for shared routing state: the Lua scripts (a batch of
reserves, one atomic run; a cooldown or breaker extended only forward), a key's hash fields in
the order the reserve script reads them, and how its reply is read back. The client side,
when and how they are sent, is `runtime.routing.redis_backend`."""

from __future__ import annotations

import math
from typing import Any

import msgspec
from redis.exceptions import RedisError

RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function num(x) return tonumber(x or '0') or 0 end
-- one reserve, as if alone: KEYS and ARGV here are its own slice of the batch's
local function reserve(KEYS, ARGV)
local tokens = tonumber(ARGV[1])
local k = redis.call('HMGET', KEYS[1], 'cool_until', 'cool_reason', 'open_until', 'rq_left', 'rq_reset',
                     'tq_left', 'tq_reset', 'soft_until', 'soft_reason', 'rq_said', 'tq_said')
local p_open = tonumber(redis.call('HGET', KEYS[2], 'open_until') or '0')
local soft = ARGV[6] ~= '1'
local refuse, until_ = '', 0
if num(k[1]) > now then refuse, until_ = 'cooldown', num(k[1])
elseif k[10] and num(k[5]) > now and num(k[10]) < 1 then refuse, until_ = 'quota', num(k[5])
elseif soft and num(k[8]) > now then refuse, until_ = 'backoff', num(k[8])
elseif soft and num(k[3]) > now then refuse, until_ = 'breaker', num(k[3])
elseif soft and p_open > now then refuse, until_ = 'breaker', p_open
elseif soft and k[4] and num(k[5]) > now and num(k[4]) < 1 then refuse, until_ = 'quota', num(k[5])
elseif soft and k[6] and num(k[7]) > now and num(k[6]) < tokens then refuse, until_ = 'quota', num(k[7])
end
local climit = tonumber(ARGV[4])
if refuse == '' and climit >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= climit then refuse = 'concurrency' end
end
local n = tonumber(ARGV[5])
local slots = {}
for i = 1, n do
  if refuse ~= '' then break end
  local span, limit, need = tonumber(ARGV[4 + 3 * i]), tonumber(ARGV[5 + 3 * i]), tonumber(ARGV[6 + 3 * i])
  local size = span / 60
  local current = math.floor(now / size)
  local oldest = current - 60
  local all = redis.call('HGETALL', KEYS[3 + i])
  local used, first, stale = 0, current, {}
  for j = 1, #all, 2 do
    local b = tonumber(all[j])
    if b < oldest then stale[#stale + 1] = all[j]
    else
      used = used + tonumber(all[j + 1])
      if b < first then first = b end
    end
  end
  if #stale > 0 then redis.call('HDEL', KEYS[3 + i], unpack(stale)) end
  if used + need > limit then refuse, until_ = 'window', (first + 61) * size end
  slots[i] = current
end
if refuse == '' then
  for i = 1, n do
    local span, need = tonumber(ARGV[4 + 3 * i]), tonumber(ARGV[6 + 3 * i])
    redis.call('HINCRBYFLOAT', KEYS[3 + i], slots[i], need)
    redis.call('EXPIRE', KEYS[3 + i], math.ceil(span * 2))
  end
  if climit >= 0 then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[2])
    redis.call('EXPIRE', KEYS[3], math.ceil(tonumber(ARGV[3]) * 2))
  end
  if k[4] and num(k[5]) > now then k[4] = redis.call('HINCRBYFLOAT', KEYS[1], 'rq_left', -1) end
  if k[6] and num(k[7]) > now then k[6] = redis.call('HINCRBYFLOAT', KEYS[1], 'tq_left', -tokens) end
end
return {refuse, tostring(now), tostring(until_), k[1] or '', k[2] or '', k[3] or '',
        tostring(p_open), k[4] or '', k[5] or '', k[6] or '', k[7] or '', table.concat(slots, ','),
        k[8] or '', k[9] or '', k[10] or '', k[11] or ''}
end
local replies, nk, na = {}, 0, 0
while na < #ARGV do
  local n = tonumber(ARGV[na + 5])
  local ok, reply = pcall(reserve, {unpack(KEYS, nk + 1, nk + 3 + n)}, {unpack(ARGV, na + 1, na + 6 + 3 * n)})
  if not ok then reply = {'!', type(reply) == 'table' and tostring(reply.err) or tostring(reply)} end
  replies[#replies + 1] = reply
  nk, na = nk + 3 + n, na + 6 + 3 * n
end
return cjson.encode(replies)
"""
"""One or more reserves (`redis_backend.BATCH` at most), their keys and arguments concatenated in the order
they were asked: each reserve's window count (its 5th argument) says where the next begins.
They run one after the other in one atomic script, each as if alone, so each sees what the
ones before it counted; one that fails (say WRONGTYPE on a key someone else uses) answers
['!', error] and the others still run.

The reply is one JSON array (a reply of strings per reserve), not a Redis array: redis-py
parses each element of an array reply in Python (about a third of relay's CPU per request
went to that), one bulk string is one read, and msgspec decodes it in C."""

EXTEND = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
"""


FIELDS = (
    "cool_until",
    "cool_reason",
    "open_until",
    "rq_left",
    "rq_reset",
    "tq_left",
    "tq_reset",
    "soft_until",
    "soft_reason",
    "rq_said",
    "tq_said",
)
"""A key's hash fields, in the order RESERVE reads them."""


decode_replies = msgspec.json.Decoder(list[list[str]]).decode


def verdict(reply: list[str]) -> list[str]:
    """One reserve's reply, or the error its part of the script raised."""
    if reply[:1] == ["!"]:
        raise RedisError("reserve script failed: " + " ".join(reply[1:]))
    return reply


def number(raw: Any) -> float | None:
    if raw is None or raw == "":
        return None  # most fields, most requests: unset, and not worth a raised exception
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
