"""SYNC, the Lua script that adds a process's counts to the shared window and trips.

It applies a batch of outcomes with the rules of :mod:`breaker_core.policy`
(``"time"``, ``"consecutive"`` and ``"count_window"``) and opens the breaker
when the batch trips it; the key layout and the reply are those of
:mod:`breaker_core.redis.script_common`.

Layer: Redis driver. Imports only the Lua every script shares.
"""

from __future__ import annotations

from breaker_core.redis.script_common import COMMON

__all__ = ["SYNC"]

SYNC = (
    COMMON
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
