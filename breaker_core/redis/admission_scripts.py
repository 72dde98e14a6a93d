"""The Lua scripts of admission, probes and manual states.

:data:`ACQUIRE` admits or rejects a call (and moves OPEN to HALF_OPEN once the
wait is over, handing out at most ``half_open_max_calls`` probe slots),
:data:`PROBE_DONE` settles a probe, :data:`SET_STATE` sets an operator's
state. The key layout and the reply are those of
:mod:`breaker_core.redis.script_common`.

Layer: Redis driver. Imports only the Lua every script shares.
"""

from __future__ import annotations

from breaker_core.redis.script_common import COMMON

__all__ = ["ACQUIRE", "PROBE_DONE", "SET_STATE"]

ACQUIRE = (
    COMMON
    + r"""
-- ARGV: now, probe_timeout, max_calls, probe_id, reset_timeout, head, buckets
local now, probe_timeout, max_calls = clock(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
NOW = now
local probe_id, reset_timeout = ARGV[4], tonumber(ARGV[5])
local head, buckets = bucket_of(ARGV[6], now), tonumber(ARGV[7])
TTL = tonumber(ARGV[8]) or 0
local st = load()
local s, f, x = totals(head, buckets)
if st.state == 'open' then
  if now < st.open_until then return reply('reject', st, s, f, x, fmt(st.open_until - now)) end
  transition(st, 'half_open', now, 'reset_timeout')
  save(st)
end
if st.state == 'half_open' then
  redis.call('ZREMRANGEBYSCORE', P, '-inf', fmt(now))
  if redis.call('ZCARD', P) < max_calls then
    redis.call('ZADD', P, fmt(now + probe_timeout), probe_id)
    return reply('probe', st, s, f, x)
  end
  local first = redis.call('ZRANGE', P, 0, 0, 'WITHSCORES')
  -- Until the earliest slot's deadline, uncapped: the caller caps it by reset_timeout
  -- and keeps the deadline to answer locally for a moment.
  return reply('reject', st, s, f, x, fmt(tonumber(first[2]) - now))
end
if st.state == 'forced_open' then return reply('reject', st, s, f, x, fmt(reset_timeout)) end
return reply('admit', st, s, f, x)
"""
)

PROBE_DONE = (
    COMMON
    + r"""
-- ARGV: probe_id, gen, outcome (success|failure|none), now, success_threshold,
--       reset_timeout, backoff, max_reset_timeout(-1: none), jitter_factor, head, buckets,
--       wait_hint(-1: none; capped by the client)
local probe_id, gen, outcome, now = ARGV[1], tonumber(ARGV[2]), ARGV[3], clock(ARGV[4])
NOW = now
local success_threshold, reset_timeout = tonumber(ARGV[5]), tonumber(ARGV[6])
local backoff, max_reset, jitter = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local head, buckets, hint = bucket_of(ARGV[10], now), tonumber(ARGV[11]), tonumber(ARGV[12])
TTL = tonumber(ARGV[13]) or 0
local st = load()
local deadline = redis.call('ZSCORE', P, probe_id)
redis.call('ZREM', P, probe_id)
local live = deadline and now < tonumber(deadline) and gen == st.gen and st.state == 'half_open'
if live then
  if outcome == 'success' then
    st.psucc = st.psucc + 1
    if st.psucc >= success_threshold then
      st.failed = 0
      transition(st, 'closed', now, 'probe_succeeded')
      redis.call('DEL', W)
    end
    save(st)
  elseif outcome == 'failure' then
    st.failed = st.failed + 1
    local wait = reset_timeout * (backoff ^ st.failed)
    if max_reset >= 0 and wait > max_reset then wait = max_reset end
    wait = wait * jitter
    if hint > wait then wait = hint end
    transition(st, 'open', now, 'probe_failed', now + wait)
    save(st)
  end
end
local s, f, x = totals(head, buckets)
return reply('state', st, s, f, x)
"""
)

SET_STATE = (
    COMMON
    + r"""
-- ARGV: state, now, head, buckets
local state, now = ARGV[1], clock(ARGV[2])
NOW = now
TTL = tonumber(ARGV[5]) or 0
local st = load()
st.failed = 0
local open_until = 0
if state == 'forced_open' then open_until = 1e300 end
transition(st, state, now, 'manual', open_until)
redis.call('DEL', W)
save(st)
return reply('state', st, 0, 0, 0)
"""
)
