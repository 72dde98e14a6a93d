"""The Lua scripts that decide every shared transition atomically on the server.

Keys of one breaker (a hash tag keeps them in one cluster slot):

- ``{prefix:name}:s`` hash: ``state``, ``gen``, ``open_until``, ``failed``
  (failed probes in a row), ``psucc`` (probe successes), ``opened_at``,
  ``changed_at``, ``reason``;
- ``{prefix:name}:w`` hash: window counts, fields ``<bucket>:s``/``:f``/``:x``
  (successes, failures, slow calls) per absolute bucket index;
- ``{prefix:name}:p`` sorted set: probe id -> deadline;
- ``{prefix:name}:c`` string: the ring of ``trip_policy: "count_window"``, one
  character per call (``1`` a failure), ``window_calls`` long once full.

The trip policies' own counts live in the ``:s`` hash too: ``streak``
(``"consecutive"``: failures in a row), ``ring_calls``, ``ring_failures`` and
``ring_pos`` (``"count_window"``). They follow the rules of
:mod:`breaker_core.policy`: counted only while CLOSED, emptied when the breaker
closes or an operator sets a state.

Breakers per key (``name[key]``) pass a time to live as the last argument of
every script: their keys expire that long after their last use, so keys that
stop being used leave Redis by themselves (0: never, for declared breakers).

Times come from the Redis server's ``TIME`` by default: every script reads it
when its ``now`` argument is empty, so one clock serves the fleet and no
host's clock step or skew moves a window or an open wait. A client that passes
a number (a registry given its own clock: tests) decides on that clock instead.
A window bucket argument ``w<width>`` means "the bucket of ``now``": the script
computes it from the same clock. Every reply ends with the ``now`` it used, so
the client can translate the times it holds to its own clock.
Numbers are returned as strings (Lua would truncate floats to integers).
Every script returns the breaker's state as the same list, see :data:`STATE_FIELDS`.

Layer: Redis driver. Imports the engine only (and redis-py).
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "PROBE_DONE", "SET_STATE", "STATE_FIELDS", "SYNC"]

STATE_FIELDS = (
    "state",
    "gen",
    "open_until",
    "failed",
    "opened_at",
    "changed_at",
    "reason",
    "successes",
    "failures",
    "slow",
    "probes",
    "streak",
    "ring_calls",
    "ring_failures",
    "now",
)
"""The fields every script returns, in order (after a leading verdict)."""

_COMMON = r"""
local function num(x, default)
  if x == false or x == nil or x == '' then return default end
  return tonumber(x)
end
local function fmt(x) return string.format('%.17g', x) end

-- The time of this decision: the client's reading, or the server's own clock.
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- The newest bucket: given, or "w<width>": the bucket of `now`.
local function bucket_of(arg, now)
  if string.sub(arg, 1, 1) == 'w' then return math.floor(now / tonumber(string.sub(arg, 2))) end
  return tonumber(arg)
end

local S, W, P, C = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local TTL = 0  -- seconds; each script sets it from its last argument

local function touch()
  if TTL > 0 then
    local ms = math.floor(TTL * 1000)
    for _, key in ipairs({S, W, P, C}) do redis.call('PEXPIRE', key, ms) end
  end
end
local NOW = 0  -- the script's `now`, returned with every reply

local function load()
  local h = redis.call('HMGET', S, 'state', 'gen', 'open_until', 'failed', 'psucc',
                       'opened_at', 'changed_at', 'reason', 'streak', 'ring_calls',
                       'ring_failures', 'ring_pos')
  return {
    state = h[1] or 'closed', gen = num(h[2], 0), open_until = num(h[3], 0),
    failed = num(h[4], 0), psucc = num(h[5], 0), opened_at = h[6] or '',
    changed_at = h[7] or '', reason = h[8] or '', streak = num(h[9], 0),
    ring_calls = num(h[10], 0), ring_failures = num(h[11], 0), ring_pos = num(h[12], 0)
  }
end

local function save(st)
  redis.call('HSET', S, 'state', st.state, 'gen', st.gen, 'open_until', fmt(st.open_until),
             'failed', st.failed, 'psucc', st.psucc, 'opened_at', st.opened_at,
             'changed_at', st.changed_at, 'reason', st.reason, 'streak', st.streak,
             'ring_calls', st.ring_calls, 'ring_failures', st.ring_failures,
             'ring_pos', st.ring_pos)
end

-- The trip policies forget every outcome (closing, manual states).
local function forget_policy(st)
  st.streak, st.ring_calls, st.ring_failures, st.ring_pos = 0, 0, 0, 0
  redis.call('DEL', C)
end

local function transition(st, state, now, reason, open_until)
  st.state = state
  st.gen = st.gen + 1
  st.open_until = open_until or 0
  st.psucc = 0
  st.changed_at = fmt(now)
  st.reason = reason
  if state == 'open' or state == 'forced_open' then st.opened_at = fmt(now)
  elseif state ~= 'half_open' then st.opened_at = '' end
  -- Probes still running keep their slots across a re-opening (they expire by deadline).
  if state ~= 'open' and state ~= 'half_open' then redis.call('DEL', P) end
  if state == 'closed' or reason == 'manual' then forget_policy(st) end
end

-- Window totals for buckets newer than head - buckets; older fields are deleted.
local function totals(head, buckets)
  local s, f, x = 0, 0, 0
  local flat = redis.call('HGETALL', W)
  for i = 1, #flat, 2 do
    local field, value = flat[i], tonumber(flat[i + 1])
    local sep = string.find(field, ':', 1, true)
    local bucket = tonumber(string.sub(field, 1, sep - 1))
    if bucket <= head - buckets then
      redis.call('HDEL', W, field)
    else
      local kind = string.sub(field, sep + 1)
      if kind == 's' then s = s + value elseif kind == 'f' then f = f + value else x = x + value end
    end
  end
  return s, f, x
end

local function reply(verdict, st, s, f, x, extra)
  touch()
  return {verdict, st.state, tostring(st.gen), fmt(st.open_until), tostring(st.failed),
          st.opened_at, st.changed_at, st.reason, tostring(s), tostring(f), tostring(x),
          tostring(redis.call('ZCARD', P)), tostring(st.streak), tostring(st.ring_calls),
          tostring(st.ring_failures), fmt(NOW), extra or ''}
end
"""

SYNC = (
    _COMMON
    + r"""
-- "consecutive": this batch as (leading failures, 1 if it holds a success, the longest
-- run of failures between two successes, failures after the last success).
local function streak_reason(st, threshold, lead, success, inner, trail)
  if st.streak + lead >= threshold then st.streak = threshold; return 'consecutive_failures' end
  if success == 1 then
    if inner >= threshold or trail >= threshold then
      st.streak = threshold
      return 'consecutive_failures'
    end
    st.streak = trail
  else
    st.streak = st.streak + lead
  end
  return nil
end

-- The ring's characters at positions pos .. pos + k - 1 (wrapping at size).
local function ring_segment(pos, k, size)
  local first = math.min(k, size - pos)
  local seg = redis.call('GETRANGE', C, pos, pos + first - 1)
  seg = seg .. string.rep('0', first - #seg)
  if k > first then
    local rest = redis.call('GETRANGE', C, 0, k - first - 1)
    seg = seg .. rest .. string.rep('0', k - first - #rest)
  end
  return seg
end

-- "count_window": add outcomes (a string of 0 and 1, oldest first, at most size long)
-- one by one, as breaker_core.policy.CountWindow does; stop at the first trip. A longer
-- batch sends its first `size` here (see breaker_core.redis.outcomes.RingBatch).
local function ring_reason(st, outcomes, size, threshold, rate, minimum)
  local k = #outcomes
  if k == 0 then return nil end
  local old = ring_segment(st.ring_pos, k, size)
  local reason, used = nil, k
  for i = 1, k do
    local failed = string.byte(outcomes, i) == 49
    if st.ring_calls == size then
      if string.byte(old, i) == 49 then st.ring_failures = st.ring_failures - 1 end
    else
      st.ring_calls = st.ring_calls + 1
    end
    if failed then st.ring_failures = st.ring_failures + 1 end
    if threshold >= 0 and st.ring_failures >= threshold then reason = 'failure_threshold'
    elseif rate >= 0 and st.ring_calls >= minimum and st.ring_failures / st.ring_calls >= rate then
      reason = 'failure_rate'
    end
    if reason then used = i; break end
  end
  local written = string.sub(outcomes, 1, used)
  local first = math.min(used, size - st.ring_pos)
  redis.call('SETRANGE', C, st.ring_pos, string.sub(written, 1, first))
  if used > first then redis.call('SETRANGE', C, 0, string.sub(written, first + 1)) end
  st.ring_pos = (st.ring_pos + used) % size
  return reason
end

-- ARGV: gen, now, head, buckets, threshold(-1: off), rate(-1: off), minimum_calls,
--       trip_wait, wait_hint(-1: none), policy (time|consecutive|count), window_calls,
--       p1, p2, p3, p4 (the policy's batch), n, then n groups of (bucket, s, f, slow)
--       where bucket is relative to head (0: the newest), then ttl; gen -1 merges a
--       rejoining process's counts into whatever generation the server is in
local gen, now = tonumber(ARGV[1]), clock(ARGV[2])
NOW = now
local head, buckets = bucket_of(ARGV[3], now), tonumber(ARGV[4])
local threshold, rate, minimum = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local trip_wait, hint, policy = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local size, n = tonumber(ARGV[11]), tonumber(ARGV[16])
TTL = tonumber(ARGV[17 + n * 4]) or 0
local st = load()
if redis.call('EXISTS', S) == 0 then st.changed_at = fmt(now); save(st) end
local counting = st.state == 'closed' or st.state == 'metrics_only'
-- gen -1: counts made while Redis was away, merged into the current generation.
if gen == -1 then gen = st.gen end
if n > 0 and gen == st.gen and counting then
  for i = 0, n - 1 do
    local b = tostring(head + tonumber(ARGV[17 + i * 4]))
    local s, f, x = tonumber(ARGV[18 + i * 4]), tonumber(ARGV[19 + i * 4]),
      tonumber(ARGV[20 + i * 4])
    if s > 0 then redis.call('HINCRBY', W, b .. ':s', s) end
    if f > 0 then redis.call('HINCRBY', W, b .. ':f', f) end
    if x > 0 then redis.call('HINCRBY', W, b .. ':x', x) end
  end
end
local s, f, x = totals(head, buckets)
if st.state == 'closed' and n > 0 and gen == st.gen then
  local reason = nil
  if policy == 'consecutive' then
    reason = streak_reason(st, threshold, tonumber(ARGV[12]), tonumber(ARGV[13]),
                           tonumber(ARGV[14]), tonumber(ARGV[15]))
  elseif policy == 'count' then
    reason = ring_reason(st, ARGV[12], size, threshold, rate, minimum)
    local tail = ARGV[13]
    if not reason and tail ~= '' then
      -- A batch longer than the ring: its last `size` outcomes are the ring now, and
      -- the client judged the windows inside the batch (ARGV[14]: the first that trips).
      if ARGV[14] ~= '' then reason = ARGV[14] end
      redis.call('SET', C, tail)
      local _, failures = string.gsub(tail, '1', '')
      st.ring_calls, st.ring_failures, st.ring_pos = size, failures, 0
    end
  else
    local calls = s + f
    if threshold >= 0 and f >= threshold then reason = 'failure_threshold'
    elseif rate >= 0 and calls >= minimum and calls > 0 and f / calls >= rate then
      reason = 'failure_rate'
    end
  end
  if reason then
    st.failed = 0
    -- A Retry-After hint of this batch only lengthens the wait (capped by the client).
    local wait = trip_wait
    if hint > wait then wait = hint end
    transition(st, 'open', now, reason, now + wait)
  end
  if reason or policy ~= 'time' then save(st) end
end
return reply('state', st, s, f, x)
"""
)

ACQUIRE = (
    _COMMON
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
    _COMMON
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
    _COMMON
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
