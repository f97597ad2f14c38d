/**
 * The Lua scripts of the Redis engine. Each runs atomically on one Redis, which is
 * what orders a session's moves, its subscriptions and every publish against each
 * other (docs/cluster.md). ARGV[1] is always the key prefix of the bus the script runs
 * on (one Redis has one bus; a cluster has a hash tag per bus); a node's messages go to
 * the Redis channel `<prefix>n:<node>` of that bus.
 *
 * Keys: `s:<id>` (hash: node, record, socket; for acknowledge-extension sessions
 * `acked` and `b:<batch>`, log ids), `s:<id>:subs` (hash: pattern → the log id when
 * it was subscribed), `c:<pattern>` (hash: node → sessions of that node subscribed),
 * `n:<node>:sessions`, `n:<node>:patterns` (sets), `nodes` (zset: node → last
 * heartbeat), `orphans` (zset: session → when it expires), `log` (stream: every
 * publish of the last few seconds, from which an acknowledge-extension session whose
 * node died gets back what its client had not acknowledged). Channel history
 * (docs/replay.md): `h:<channel>` (stream: entry id `<replay id>-0`, fields `e`, the
 * event as delivered, and `p`, the replay id before it), `h:channels` (zset: channel →
 * when it was last published on, to find the channels of a wildcard).
 *
 * A node's messages: `e<log id>\n<replay id>\n<expansion>\n<event>` (a publish; ids
 * may be empty), `d`, `s`, `u`, `m`, `c`, `h`, `x`, `o`, `a`, and from the other buses of
 * a cluster `l` and `k` (see RedisEngine).
 */

const COMMON = `
local P = ARGV[1]
local function last_logged()
  local last = redis.call('XREVRANGE', P .. 'log', '+', '-', 'COUNT', 1)[1]
  return last and last[1] or '0-0'
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function micros()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- Replay ids are microseconds-sized: Lua would print them in exponent notation.
local function int(n)
  return string.format('%.0f', n)
end
local function replay_id(entry)
  return tonumber(string.match(entry[1], '^%d+'))
end
-- A node is alive while it listens on its channel and has beaten in the last three
-- detection times: a killed process loses its connection at once, long before its
-- heartbeat is missed, and a busy one may be late with its heartbeat.
local function alive(node, detection)
  local seen = redis.call('ZSCORE', P .. 'nodes', node)
  return seen ~= false and seen ~= nil and tonumber(seen) >= now() - 3 * detection and
    redis.call('PUBSUB', 'NUMSUB', P .. 'n:' .. node)[2] > 0
end
local function interest(node, pattern, delta)
  local key = P .. 'c:' .. pattern
  if redis.call('HINCRBY', key, node, delta) <= 0 then
    redis.call('HDEL', key, node)
    redis.call('SREM', P .. 'n:' .. node .. ':patterns', pattern)
  else
    redis.call('SADD', P .. 'n:' .. node .. ':patterns', pattern)
  end
end
local function reap(node, expires)
  for _, pattern in ipairs(redis.call('SMEMBERS', P .. 'n:' .. node .. ':patterns')) do
    redis.call('HDEL', P .. 'c:' .. pattern, node)
  end
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'n:' .. node .. ':sessions')) do
    redis.call('ZADD', P .. 'orphans', expires, id)
  end
  redis.call('DEL', P .. 'n:' .. node .. ':patterns', P .. 'n:' .. node .. ':sessions')
  redis.call('ZREM', P .. 'nodes', node)
  -- Gone by itself once its last orphan is due, should no node be left to sweep it.
  if redis.call('EXISTS', P .. 'orphans') == 1 then redis.call('PEXPIREAT', P .. 'orphans', expires + 1000) end
end
local function destroy(id)
  local key = P .. 's:' .. id
  local node = redis.call('HGET', key, 'node')
  if not node then return 0 end
  for _, pattern in ipairs(redis.call('HKEYS', key .. ':subs')) do interest(node, pattern, -1) end
  redis.call('DEL', key, key .. ':subs')
  redis.call('SREM', P .. 'n:' .. node .. ':sessions', id)
  redis.call('ZREM', P .. 'orphans', id)
  return 1
end
-- Destroys a session no live node holds, and returns what its events need (id,
-- record, subscriptions joined by newlines), or nothing when it was gone already.
local function ended(id)
  local key = P .. 's:' .. id
  local record = redis.call('HGET', key, 'record')
  local subs = table.concat(redis.call('HKEYS', key .. ':subs'), '\\n')
  redis.call('ZREM', P .. 'orphans', id)
  if record and destroy(id) == 1 then return { id, record, subs } end
end
-- Sessions on every live node but \`except\`, and orphans not yet claimed or expired.
local function sessions(except)
  local count = redis.call('ZCARD', P .. 'orphans')
  for _, node in ipairs(redis.call('ZRANGE', P .. 'nodes', 0, -1)) do
    if node ~= except then count = count + redis.call('SCARD', P .. 'n:' .. node .. ':sessions') end
  end
  return count
end
`

/** ARGV: prefix, id, node, record JSON, ttl. */
export const CREATE = `${COMMON}
local id, node, ttl = ARGV[2], ARGV[3], tonumber(ARGV[5])
local key = P .. 's:' .. id
redis.call('HSET', key, 'node', node, 'record', ARGV[4])
redis.call('PEXPIRE', key, ttl)
redis.call('SADD', P .. 'n:' .. node .. ':sessions', id)
return 1`

/**
 * ARGV: prefix (of a bus other than the first), id, node, ttl. The session's copy on
 * that bus: what a publish through it needs, its holder and (by SUBSCRIBE) its patterns.
 */
export const COPY = `${COMMON}
local key = P .. 's:' .. ARGV[2]
redis.call('HSET', key, 'node', ARGV[3])
redis.call('PEXPIRE', key, tonumber(ARGV[4]))
return 1`

/**
 * ARGV: prefix (of a bus other than the first), id, node, the move's number (CLAIM),
 * ttl. Moves the session's copy on this bus to `node`, as CLAIM moved its record:
 * its previous node is told ('l'), after the bus's last event for it there, and
 * `node` is told ('m'), before the bus's first event for it here. Moves of one
 * session may reach a bus out of order: one older than the bus's copy is skipped, and
 * `node` is told ('k') that it holds nothing of this bus. Returns the log id up to
 * which the bus's events went to the nodes before (for an acknowledge-extension client
 * whose node died).
 */
export const MOVE = `${COMMON}
local id, node, version, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local key = P .. 's:' .. id
local fields = redis.call('HMGET', key, 'node', 'v', 'at')
local previous = fields[1]
if not previous or tonumber(fields[2] or '0') >= version then
  redis.call('PUBLISH', P .. 'n:' .. node, 'k' .. id .. '\\n')
  return fields[3] or last_logged()
end
local subs = redis.call('HKEYS', key .. ':subs')
for _, pattern in ipairs(subs) do
  interest(previous, pattern, -1)
  interest(node, pattern, 1)
end
local at = last_logged()
redis.call('HSET', key, 'node', node, 'v', version, 'at', at)
redis.call('PEXPIRE', key, ttl)
if #subs > 0 then redis.call('PEXPIRE', key .. ':subs', ttl) end
redis.call('PUBLISH', P .. 'n:' .. previous, 'l' .. id .. '\\n')
redis.call('PUBLISH', P .. 'n:' .. node, 'm' .. id .. '\\n' .. table.concat(subs, '\\n'))
return at`

/**
 * ARGV: prefix (of a bus other than the first), then ids of sessions that ended on
 * the first bus without their node (orphans that expired, or ended through another
 * node): their copies go, whichever node they name.
 */
export const DROP = `${COMMON}
for i = 2, #ARGV do destroy(ARGV[i]) end
return 1`

/**
 * ARGV: prefix (of a bus other than the first), node, ttl. The node's heartbeat on
 * that bus, which keeps its sets there alive as HEARTBEAT does on the first: 1 when
 * the bus did not know it (it lost its keys, a shard restarted empty), for the node
 * to put its sessions back there.
 */
export const BEAT = `${COMMON}
local node, ttl = ARGV[2], tonumber(ARGV[3])
for _, set in ipairs({ 'sessions', 'patterns' }) do redis.call('PEXPIRE', P .. 'n:' .. node .. ':' .. set, ttl) end
return redis.call('SET', P .. 'n:' .. node .. ':beat', '1', 'PX', ttl, 'GET') and 0 or 1`

/**
 * ARGV: prefix, node, then ids of sessions that ended on it. Only the holder destroys:
 * a session another node claimed meanwhile is left alone.
 */
export const DESTROY = `${COMMON}
for i = 3, #ARGV do
  if redis.call('HGET', P .. 's:' .. ARGV[i], 'node') == ARGV[2] then destroy(ARGV[i]) end
end
return 1`

/** ARGV: prefix, id, pattern, 1 to subscribe or -1 to unsubscribe. Tells the holder. */
export const SUBSCRIBE = `${COMMON}
local id, pattern, delta = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. 's:' .. id
local node = redis.call('HGET', key, 'node')
if not node then return 0 end
local changed
if delta > 0 then changed = redis.call('HSETNX', key .. ':subs', pattern, last_logged()) else changed = redis.call('HDEL', key .. ':subs', pattern) end
if changed == 1 then
  interest(node, pattern, delta)
  redis.call('PEXPIRE', key .. ':subs', redis.call('PTTL', key))
  redis.call('PUBLISH', P .. 'n:' .. node, (delta > 0 and 's' or 'u') .. id .. '\\n' .. pattern)
end
return 1`

/**
 * ARGV: prefix, how long the log keeps events (ms, 0: no log), how many events the
 * channel's history keeps (0: none), how long (ms), the event's JSON in two parts
 * around its replay id (`head`, `tail`; all of it in `head` without history), its
 * expansion as JSON, then the expansion of its channel (the channel first). Gives the
 * event its channel's next replay id and keeps it in the history, logs it, then sends
 * it with both ids once to every node with a session subscribed to a key of the
 * expansion; returns how many. A replay id is above every id issued before on any
 * channel (so ids are in publish order across channels), and at least the microsecond
 * (Redis's clock) of its publish, so that ids issued before Redis lost the history
 * are never issued again.
 */
export const PUBLISH = `${COMMON}
local window, size, ttl, head, tail = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local replay = ''
if size > 0 then
  local channel = ARGV[8]
  local key = P .. 'h:' .. channel
  local channels = P .. 'h:channels'
  local t = micros()
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  local previous = last and replay_id(last) or 0
  local top = redis.call('ZREVRANGE', channels, 0, 0, 'WITHSCORES')[2]
  replay = int(math.max(previous + 1, (top and tonumber(top) or 0) + 1, t))
  redis.call('XADD', key, 'MAXLEN', size, replay .. '-0', 'e', head .. replay .. tail, 'p', int(previous))
  redis.call('XTRIM', key, 'MINID', int(t - ttl * 1000))
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', channels, replay, channel)
  redis.call('ZREMRANGEBYSCORE', channels, '-inf', '(' .. int(t - ttl * 1000))
  redis.call('PEXPIRE', channels, ttl)
end
local body = replay .. '\\n' .. ARGV[7] .. '\\n' .. head .. replay .. tail
local id = ''
if window > 0 then
  local log = P .. 'log'
  id = redis.call('XADD', log, 'MINID', '~', (now() - window) .. '-0', '*', 'k', table.concat(ARGV, '\\n', 8), 'm', body)
  redis.call('PEXPIRE', log, window)
end
local message = 'e' .. id .. '\\n' .. body
local nodes, count = {}, 0
for i = 8, #ARGV do
  for _, node in ipairs(redis.call('HKEYS', P .. 'c:' .. ARGV[i])) do
    if not nodes[node] then
      nodes[node] = true
      count = count + 1
      redis.call('PUBLISH', P .. 'n:' .. node, message)
    end
  end
end
return count`

/**
 * ARGV: prefix, a channel or pattern, the replay id to read after ('' for all: the
 * only read of a wildcard), most entries, how long the history keeps events (ms).
 * The entries of the history not yet expired, oldest first (per channel), as
 * { stream id, { field, value... } }; false when reading after that id would not be
 * whole: an entry after it is gone (dropped or expired), or it was never issued.
 */
export const HISTORY = `${COMMON}
local pattern, after, limit = ARGV[2], ARGV[3], ARGV[4]
local oldest = micros() - tonumber(ARGV[5]) * 1000
local from = int(oldest) .. '-0'
if not string.find(pattern, '*', 1, true) then
  local key = P .. 'h:' .. pattern
  if after == '' then return redis.call('XRANGE', key, from, '+', 'COUNT', limit) end
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  local n = tonumber(after)
  if not last or n > replay_id(last) then return false end
  if n == replay_id(last) then return {} end
  -- Whole when the first entry after n is kept and was published right after n.
  local first = redis.call('XRANGE', key, '(' .. after .. '-0', '+', 'COUNT', 1)[1]
  if replay_id(first) < oldest then return false end
  local fields = first[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'p' and fields[i + 1] ~= after then return false end
  end
  return redis.call('XRANGE', key, '(' .. after .. '-0', '+', 'COUNT', limit)
end
local function matches(channel)
  local wild = string.match(pattern, '/(%*+)$')
  local base = string.sub(pattern, 1, #pattern - #wild)
  if #channel <= #base or string.sub(channel, 1, #base) ~= base then return false end
  return wild == '**' or not string.find(channel, '/', #base + 1, true)
end
local out = {}
for _, channel in ipairs(redis.call('ZRANGEBYSCORE', P .. 'h:channels', oldest, '+inf')) do
  if matches(channel) then
    for _, entry in ipairs(redis.call('XRANGE', P .. 'h:' .. channel, from, '+', 'COUNT', limit)) do out[#out + 1] = entry end
  end
end
return out`

/** ARGV: prefix, id, message. Sends to the node that holds the session; 0 when none does. */
export const DELIVER = `${COMMON}
local node = redis.call('HGET', P .. 's:' .. ARGV[2], 'node')
if not node then return 0 end
redis.call('PUBLISH', P .. 'n:' .. node, ARGV[3])
return 1`

/**
 * ARGV: prefix, id, maxInterval. A request of the session was served on a node that
 * does not hold it, so its client is alive (C77): its node is told, or, when it is an
 * orphan, its deadline moves to maxInterval from now.
 */
export const TOUCH = `${COMMON}
local id = ARGV[2]
local node = redis.call('HGET', P .. 's:' .. id, 'node')
if not node then return 0 end
if redis.call('ZSCORE', P .. 'orphans', id) then
  local due = now() + tonumber(ARGV[3])
  redis.call('ZADD', P .. 'orphans', due, id)
  redis.call('PEXPIREAT', P .. 'orphans', due + 1000)
else
  redis.call('PUBLISH', P .. 'n:' .. node, 't' .. id .. '\\n')
end
return 1`

/**
 * ARGV: prefix, id, detection, node, whether that node holds the session or is
 * claiming it (1/0). The record, the subscriptions and whether a socket is open to it
 * on a live node; false when it is unknown, or when it is still recorded as the
 * node's but the node no longer holds it: it ended there and its destroy did not go
 * through, which this finishes.
 */
export const FIND = `${COMMON}
local key = P .. 's:' .. ARGV[2]
local fields = redis.call('HMGET', key, 'record', 'socket', 'node')
if not fields[1] then return false end
if fields[3] == ARGV[4] and ARGV[5] == '0' then
  destroy(ARGV[2])
  return false
end
local socket = fields[2] and alive(fields[2], tonumber(ARGV[3])) and 1 or 0
return { fields[1], socket, redis.call('HKEYS', key .. ':subs') }`

/**
 * ARGV: prefix, id, node, detection, wants a socket (1/0), ttl, the batch the client
 * acknowledges ('' if none), whether `node` holds the session (1/0), whether the
 * engine has other buses (1/0), whose MOVE needs the move's number. Moves the session
 * to `node`: its subscriptions count for it from now on; its previous node, when alive,
 * is told to hand over. The new node's own channel gets a marker first, so that it
 * knows which events came after the move. Returns false when the session is unknown,
 * or when it is recorded as `node`'s but `node` no longer holds it (it ended there and
 * its destroy did not go through, which this finishes), 'busy' when a socket is asked
 * for and one is open elsewhere, else { record, how ('moved', 'orphan' or 'here'),
 * subscriptions, the log id the client has every event up to (one per bus, joined by
 * commas, with other buses), the last log id now, the previous node, the move's number
 * (0 without other buses) }.
 */
export const CLAIM = `${COMMON}
local id, node, detection, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[6])
local key = P .. 's:' .. id
local fields = redis.call('HMGET', key, 'node', 'record', 'socket')
local previous = fields[1]
if not previous then return false end
if previous == node and ARGV[8] == '0' then
  destroy(id)
  return false
end
if ARGV[5] == '1' and fields[3] and fields[3] ~= node and alive(fields[3], detection) then return 'busy' end
local subs = redis.call('HKEYS', key .. ':subs')
local how, version = 'here', 0
if previous ~= node then
  if ARGV[9] == '1' then version = redis.call('HINCRBY', key, 'v', 1) end
  how = alive(previous, detection) and 'moved' or 'orphan'
  for _, pattern in ipairs(subs) do
    interest(previous, pattern, -1)
    interest(node, pattern, 1)
  end
  redis.call('HSET', key, 'node', node)
  redis.call('HDEL', key, 'socket')
  redis.call('SREM', P .. 'n:' .. previous .. ':sessions', id)
  redis.call('SADD', P .. 'n:' .. node .. ':sessions', id)
  redis.call('ZREM', P .. 'orphans', id)
  redis.call('PUBLISH', P .. 'n:' .. node, 'm' .. id .. '\\n' .. table.concat(subs, '\\n'))
  if how == 'moved' then redis.call('PUBLISH', P .. 'n:' .. previous, 'c' .. id .. '\\n' .. node) end
end
redis.call('PEXPIRE', key, ttl)
if #subs > 0 then redis.call('PEXPIRE', key .. ':subs', ttl) end
local cursor = (ARGV[7] ~= '' and redis.call('HGET', key, 'b:' .. ARGV[7])) or redis.call('HGET', key, 'acked') or ''
return { fields[2], how, subs, cursor, last_logged(), previous, version }`

/** ARGV: prefix, node, detection. 1 while `node` is alive, else 0. */
export const ALIVE = `${COMMON}
return alive(ARGV[2], tonumber(ARGV[3])) and 1 or 0`

/** ARGV: prefix, id, node, 1 (open) or 0 (closed). */
export const SOCKET = `${COMMON}
local key = P .. 's:' .. ARGV[2]
if redis.call('HGET', key, 'node') ~= ARGV[3] then return 0 end
if ARGV[4] == '1' then redis.call('HSET', key, 'socket', ARGV[3])
elseif redis.call('HGET', key, 'socket') == ARGV[3] then redis.call('HDEL', key, 'socket') end
return 1`

/**
 * ARGV: prefix, id, reason, detection. Asks the session's node to end it; when that
 * node is dead, ends it here. Returns 'sent', false (unknown), or when it ended here
 * { id, record, subscriptions } for its events.
 */
export const END = `${COMMON}
local node = redis.call('HGET', P .. 's:' .. ARGV[2], 'node')
if not node then return false end
if alive(node, tonumber(ARGV[4])) then
  redis.call('PUBLISH', P .. 'n:' .. node, 'x' .. ARGV[2] .. '\\n' .. ARGV[3])
  return 'sent'
end
return ended(ARGV[2]) or false`

/**
 * ARGV: the plain prefix as a hash tag (the same whatever the number of buses), buses,
 * how long to keep them (ms). The buses of the nodes under the prefix, which each node
 * keeps alive at its heartbeats: those kept, else `buses`, kept from now on.
 */
export const AGREE = `${COMMON}
local held = redis.call('GET', P .. 'buses')
if held and held ~= ARGV[2] then return held end
redis.call('SET', P .. 'buses', ARGV[2], 'PX', tonumber(ARGV[3]))
return ARGV[2]`

/**
 * ARGV: prefix, node, detection, maxInterval, ttl. The node's heartbeat, then the
 * sweep every node runs: a node silent for longer than \`detection\` that no longer
 * listens on its channel (or silent for three times that) is dead, and its
 * sessions become orphans that expire after maxInterval unless a connect claims them
 * first; orphans past that are destroyed. Returns 1 when this node was not counted
 * as alive (its first heartbeat, after Redis lost everything, or after the others
 * took it for dead), then the orphans destroyed ({ id, record, subscriptions } each),
 * then the sessions of every other node and the orphans left, then the nodes found
 * dead (for the other buses to forget their interest too).
 */
export const HEARTBEAT = `${COMMON}
local node, detection, maxInterval, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local joined = redis.call('ZADD', P .. 'nodes', t, node)
redis.call('PEXPIRE', P .. 'nodes', ttl)
for _, set in ipairs({ 'sessions', 'patterns' }) do redis.call('PEXPIRE', P .. 'n:' .. node .. ':' .. set, ttl) end
-- A node late with its heartbeat but still listening is busy, not dead.
local dead = {}
for _, late in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', t - detection)) do
  if not alive(late, detection) then
    reap(late, t + maxInterval)
    dead[#dead + 1] = late
  end
end
local expired = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'orphans', '-inf', t)) do expired[#expired + 1] = ended(id) end
return { joined, expired, sessions(node), dead }`

/**
 * ARGV: prefix, node, n, then n ids of sessions the node holds (on the first bus) or
 * routes events of (on another), then ids of sessions it holds but does not route
 * events of on this bus. After the node's listener connection came back, which lost
 * what was sent to it meanwhile: tells it, on its channel, in order with the claims and
 * moves it may have missed, which of them this bus names another node for ('o'), and
 * gives it again the marker of each of the others that the bus names it for ('a', as
 * 'm').
 */
export const STALE = `${COMMON}
local node, n, others = ARGV[2], tonumber(ARGV[3]), {}
for i = 4, #ARGV do
  local key = P .. 's:' .. ARGV[i]
  local holder = redis.call('HGET', key, 'node')
  if holder and holder ~= node then
    others[#others + 1] = ARGV[i]
  elseif holder and i > n + 3 then
    redis.call('PUBLISH', P .. 'n:' .. node, 'a' .. ARGV[i] .. '\\n' .. table.concat(redis.call('HKEYS', key .. ':subs'), '\\n'))
  end
end
if #others > 0 then redis.call('PUBLISH', P .. 'n:' .. node, 'o\\n' .. table.concat(others, '\\n')) end
return #others`

/**
 * ARGV: prefix, node, maxInterval. A node leaving: its sessions are orphans at once,
 * for a connect on another node to claim; on the other buses, its interest goes (also
 * run there for a node HEARTBEAT found dead).
 */
export const LEAVE = `${COMMON}
reap(ARGV[2], now() + tonumber(ARGV[3]))
redis.call('DEL', P .. 'n:' .. ARGV[2] .. ':beat')
return 1`

/** ARGV: prefix, node, ttl. Keeps the interest counts of a node's patterns from expiring. */
export const KEEP = `${COMMON}
for _, pattern in ipairs(redis.call('SMEMBERS', P .. 'n:' .. ARGV[2] .. ':patterns')) do
  redis.call('PEXPIRE', P .. 'c:' .. pattern, tonumber(ARGV[3]))
end
return 1`

/** ARGV: prefix, ttl, then ids. Keeps the records of sessions a node holds from expiring. */
export const REFRESH = `${COMMON}
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do
  local key = P .. 's:' .. ARGV[i]
  redis.call('PEXPIRE', key, ttl)
  redis.call('PEXPIRE', key .. ':subs', ttl)
end
return 1`

/**
 * ARGV: prefix, node, ttl, id, record JSON, then its subscriptions. Puts back a
 * session this node holds after Redis lost it (a restart without persistence) or
 * after the others took this node for dead; a session another node has claimed
 * meanwhile is left alone (returns 0). Interest counts are set by REINDEX.
 */
export const RESTORE = `${COMMON}
local node, ttl, id = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local key = P .. 's:' .. id
local holder = redis.call('HGET', key, 'node')
if holder and holder ~= node then return 0 end
if not holder then
  redis.call('HSET', key, 'node', node, 'record', ARGV[5])
  end
redis.call('PEXPIRE', key, ttl)
redis.call('SADD', P .. 'n:' .. node .. ':sessions', id)
redis.call('ZREM', P .. 'orphans', id)
redis.call('DEL', key .. ':subs')
for i = 6, #ARGV do redis.call('HSET', key .. ':subs', ARGV[i], last_logged()) end
if #ARGV >= 6 then redis.call('PEXPIRE', key .. ':subs', ttl) end
return 1`

/** ARGV: prefix, node, then pattern, count pairs: this node's interest, set outright. */
export const REINDEX = `${COMMON}
local node = ARGV[2]
for i = 3, #ARGV, 2 do
  redis.call('HSET', P .. 'c:' .. ARGV[i], node, ARGV[i + 1])
  redis.call('SADD', P .. 'n:' .. node .. ':patterns', ARGV[i])
end
return 1`

/** ARGV: prefix. Sessions on every live node, and orphans not yet claimed or expired. */
export const COUNT = `${COMMON}
return sessions(nil)`

/**
 * ARGV: prefix, id, batch, the last log id in it ('' when the client acknowledges the
 * batch instead of being sent it), and with other buses 'v': the id is then one per
 * bus joined by commas, '' for a bus the batch has no event of. Where an
 * acknowledge-extension client is: batch `b` holds the events up to a log id (per
 * bus: the latest sent so far of that bus); once acknowledged, that id is what it has.
 */
export const ACK = `${COMMON}
local key = P .. 's:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
local batch = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local ids = ARGV[4]
  if ARGV[5] == 'v' then
    local before, merged = redis.call('HGET', key, 'sent') or '', {}
    local old = {}
    for id in string.gmatch(before .. ',', '([^,]*),') do old[#old + 1] = id end
    for id in string.gmatch(ids .. ',', '([^,]*),') do
      merged[#merged + 1] = (id ~= '' and id) or old[#merged + 1] or ''
    end
    ids = table.concat(merged, ',')
    redis.call('HSET', key, 'sent', ids)
  end
  redis.call('HSET', key, 'b:' .. batch, ids)
  return 1
end
for _, field in ipairs(redis.call('HKEYS', key)) do
  if string.sub(field, 1, 2) == 'b:' and tonumber(string.sub(field, 3)) <= batch then
    if tonumber(string.sub(field, 3)) == batch then redis.call('HSET', key, 'acked', redis.call('HGET', key, field)) end
    redis.call('HDEL', key, field)
  end
end
return 1`

/**
 * ARGV: prefix, id, after, until. The logged events after log id \`after\` up to
 * \`until\` on a channel the session was subscribed to when they were published, as
 * { log id, event } pairs, oldest first.
 */
export const REPLAY = `${COMMON}
local subs = P .. 's:' .. ARGV[2] .. ':subs'
local out = {}
local from = ARGV[3] == '' and '-' or '(' .. ARGV[3]
for _, entry in ipairs(redis.call('XRANGE', P .. 'log', from, ARGV[4])) do
  local id, fields = entry[1], entry[2]
  local keys, body
  for i = 1, #fields, 2 do
    if fields[i] == 'k' then keys = fields[i + 1] else body = fields[i + 1] end
  end
  for pattern in string.gmatch(keys, '[^\\n]+') do
    local since = redis.call('HGET', subs, pattern)
    if since then
      local ms, seq = string.match(since, '(%d+)-(%d+)')
      local ims, iseq = string.match(id, '(%d+)-(%d+)')
      if tonumber(ims) > tonumber(ms) or (tonumber(ims) == tonumber(ms) and tonumber(iseq) > tonumber(seq)) then
        out[#out + 1] = id
        out[#out + 1] = body
        break
      end
    end
  end
end
return out`

/** Whether Redis answers at all, after a command of this node got no reply in time. */
export const PROBE = 'return 1'
