"""What every Lua script of the Redis driver begins with, and the reply they share.

The scripts that decide every shared transition atomically on the server are
:data:`~breaker_core.redis.sync_script.SYNC` (counts and trips) and
:mod:`breaker_core.redis.admission_scripts` (admission, probes, manual states);
each is :data:`COMMON` followed by its own body.

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

Layer: Redis driver. Imports nothing (the scripts are text).
"""

from __future__ import annotations

__all__ = ["COMMON", "STATE_FIELDS"]

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

COMMON = r"""
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
"""The Lua functions every script starts with: reading and saving the state, transitions,
window totals and the reply."""
