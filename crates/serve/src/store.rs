//! Where executions' state lives: in the process ([`MemoryStore`], the default) or in Redis
//! ([`RedisStore`]), so that several replicas serve one execution and a restart loses nothing.
//!
//! Every write is a compare-and-set on the execution's version (and, for a policy that learns across
//! executions, on the workflow's learned-state version): a replica that read stale state retries with
//! the new state, so two replicas never both decide one step. In Redis, per workflow `W` (hash tag
//! `{W}`, so one workflow's keys share a cluster slot) under a prefix (default `faastune:`):
//! - `PREFIX{W}:x:ID`: hash `v` (version), `s` (the state blob, [`crate::state`]); expires after the
//!   TTL without a write;
//! - `PREFIX{W}:learned:TAG`: hash `v`, `s`: the policy's learned state (replan) for the workflow's
//!   steps with hash `TAG` (a changed workflow learns afresh; replicas still on the old steps keep
//!   theirs), no expiry;
//! - `PREFIX{W}:next`: the next request index;
//! - `PREFIX{W}:live`: sorted set of execution ids by expiry time (the executions gauge).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::Error;
use crate::state::ExecState;

/// A stored hash's version and blob (`HMGET key v s`).
type Stored = (Option<u64>, Option<Vec<u8>>);

/// A versioned execution: version 1 after the first write.
pub type Versioned = (u64, ExecState);

/// A learned-state write joined to an execution's: the version it was derived from and the blob.
pub struct LearnedWrite<'a> {
    /// Which learned state: the workflow's steps' hash, in hex.
    pub tag: &'a str,
    /// The learned-state version the policy had imported (0: none stored yet).
    pub expected: u64,
    /// The new blob.
    pub blob: &'a [u8],
}

/// What a compare-and-set write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written; the learned state's new version, when it was written too.
    Done(Option<u64>),
    /// The execution changed since it was read: nothing was written.
    ExecConflict,
    /// The learned state changed since it was read: nothing was written.
    LearnedConflict,
}

/// The state store.
pub enum Store {
    /// In the process.
    Memory(MemoryStore),
    /// In Redis.
    Redis(RedisStore),
}

impl Store {
    /// `memory` or `redis`, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    /// Whether the store keeps learned state (else the policy object in this process is its only
    /// home).
    pub fn keeps_learned(&self) -> bool {
        matches!(self, Store::Redis(_))
    }

    /// Execution `id` of workflow `wf`, if it exists; with a learned-state tag, also the version of
    /// that learned state (0: none stored).
    pub async fn load(
        &self,
        wf: &str,
        id: &str,
        learned: Option<&str>,
    ) -> Result<(Option<Versioned>, u64), Error> {
        match self {
            Store::Memory(m) => Ok((m.load(wf, id), 0)),
            Store::Redis(r) => r.load(wf, id, learned).await,
        }
    }

    /// A new request index for workflow `wf` (0, 1, 2, ... in order of asking).
    pub async fn next_request_idx(&self, wf: &str) -> Result<u64, Error> {
        match self {
            Store::Memory(m) => Ok(m.next_request_idx(wf)),
            Store::Redis(r) => r.next_request_idx(wf).await,
        }
    }

    /// Writes `state` as execution `id` if its version is still `expected` (0: it must not exist),
    /// with the learned state when given (and still at its expected version).
    pub async fn commit(
        &self,
        wf: &str,
        id: &str,
        expected: u64,
        state: &ExecState,
        learned: Option<LearnedWrite<'_>>,
    ) -> Result<Commit, Error> {
        match self {
            Store::Memory(m) => Ok(m.commit(wf, id, expected, state)),
            Store::Redis(r) => r.commit(wf, id, expected, state, learned).await,
        }
    }

    /// Removes execution `id`; whether it existed.
    pub async fn delete(&self, wf: &str, id: &str) -> Result<bool, Error> {
        match self {
            Store::Memory(m) => Ok(m.delete(wf, id)),
            Store::Redis(r) => r.delete(wf, id).await,
        }
    }

    /// The workflow's learned state `tag` and its version, if stored.
    pub async fn learned(&self, wf: &str, tag: &str) -> Result<Option<(u64, Vec<u8>)>, Error> {
        match self {
            Store::Memory(_) => Ok(None),
            Store::Redis(r) => r.learned(wf, tag).await,
        }
    }

    /// How many executions of `wf` the store holds (not expired).
    pub async fn count(&self, wf: &str) -> Result<u64, Error> {
        match self {
            Store::Memory(m) => Ok(m.count(wf)),
            Store::Redis(r) => r.count(wf).await,
        }
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), Error> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.ping().await,
        }
    }
}

struct MemEntry {
    version: u64,
    state: ExecState,
    touched: Instant,
}

/// Executions in the process: per workflow, by id; forgotten after `ttl` without a write
/// ([`MemoryStore::sweep`]).
pub struct MemoryStore {
    ttl: Duration,
    map: Mutex<BTreeMap<String, BTreeMap<String, MemEntry>>>,
    next: Mutex<BTreeMap<String, u64>>,
}

impl MemoryStore {
    /// An empty store whose executions expire after `ttl` without a write.
    pub fn new(ttl: Duration) -> Self {
        MemoryStore {
            ttl,
            map: Mutex::new(BTreeMap::new()),
            next: Mutex::new(BTreeMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, MemEntry>>> {
        // A panic while holding the lock cannot leave a map half-written (every write is one insert
        // or remove), so a poisoned lock is still consistent.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn load(&self, wf: &str, id: &str) -> Option<Versioned> {
        self.map()
            .get(wf)?
            .get(id)
            .map(|e| (e.version, e.state.clone()))
    }

    fn next_request_idx(&self, wf: &str) -> u64 {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let n = next.entry(wf.to_owned()).or_insert(0);
        *n += 1;
        *n - 1
    }

    fn commit(&self, wf: &str, id: &str, expected: u64, state: &ExecState) -> Commit {
        let mut map = self.map();
        let execs = map.entry(wf.to_owned()).or_default();
        let current = execs.get(id).map_or(0, |e| e.version);
        if current != expected {
            return Commit::ExecConflict;
        }
        execs.insert(
            id.to_owned(),
            MemEntry {
                version: expected + 1,
                state: state.clone(),
                touched: crate::clock::instant_now(),
            },
        );
        Commit::Done(None)
    }

    fn delete(&self, wf: &str, id: &str) -> bool {
        self.map()
            .get_mut(wf)
            .is_some_and(|m| m.remove(id).is_some())
    }

    fn count(&self, wf: &str) -> u64 {
        self.map().get(wf).map_or(0, |m| m.len() as u64)
    }

    /// Forgets executions with no write for the TTL; how many per workflow (those with any).
    pub fn sweep_by_workflow(&self) -> Vec<(String, u64)> {
        let now = crate::clock::instant_now();
        let mut out = Vec::new();
        for (wf, execs) in self.map().iter_mut() {
            let before = execs.len();
            execs.retain(|_, e| now.duration_since(e.touched) < self.ttl);
            if execs.len() < before {
                out.push((wf.clone(), (before - execs.len()) as u64));
            }
        }
        out
    }
}

/// The compare-and-set write (see the module docs). KEYS: execution, learned, live. ARGV: expected
/// execution version, blob, TTL seconds, id, expected learned version (empty: no learned write),
/// learned blob. Returns -1 (execution changed), -2 (learned state changed), 0 (written, no
/// learned state) or the learned state's new version.
const COMMIT_LUA: &str = r"
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return -1 end
local lv = 0
if ARGV[5] ~= '' then
  local cur = redis.call('HGET', KEYS[2], 'v') or '0'
  if cur ~= ARGV[5] then return -2 end
  lv = tonumber(cur) + 1
  redis.call('HSET', KEYS[2], 'v', tostring(lv), 's', ARGV[6])
end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(v) + 1), 's', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) + tonumber(ARGV[3]), ARGV[4])
return lv
";

/// Drops expired ids from the live set and counts the rest. KEYS: live.
const COUNT_LUA: &str = r"
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. t[1])
return redis.call('ZCARD', KEYS[1])
";

/// Executions in Redis (see the module docs).
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    ttl_s: u64,
    commit: redis::Script,
    count: redis::Script,
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT[/DB]`); executions expire after `ttl` without a write;
    /// keys start with `prefix`. Fails when Redis does not answer within a few seconds.
    pub async fn connect(url: &str, prefix: &str, ttl: Duration) -> Result<Self, Error> {
        let client =
            redis::Client::open(url).map_err(|e| Error::Config(format!("--store {url}: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| Error::Store(format!("connecting to {url}: {e}")))?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
            ttl_s: ttl.as_secs().max(1),
            commit: redis::Script::new(COMMIT_LUA),
            count: redis::Script::new(COUNT_LUA),
        })
    }

    fn key(&self, wf: &str, what: &str) -> String {
        format!("{}{{{wf}}}:{what}", self.prefix)
    }

    fn exec_key(&self, wf: &str, id: &str) -> String {
        format!("{}{{{wf}}}:x:{id}", self.prefix)
    }

    async fn load(
        &self,
        wf: &str,
        id: &str,
        learned: Option<&str>,
    ) -> Result<(Option<Versioned>, u64), Error> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(self.exec_key(wf, id))
            .arg("v")
            .arg("s");
        if let Some(tag) = learned {
            pipe.cmd("HGET")
                .arg(self.key(wf, &format!("learned:{tag}")))
                .arg("v");
        }
        let (exec, lv): (Stored, Option<u64>) = if learned.is_some() {
            pipe.query_async(&mut conn).await?
        } else {
            let (e,): (Stored,) = pipe.query_async(&mut conn).await?;
            (e, None)
        };
        let exec = match exec {
            (Some(v), Some(blob)) => Some((
                v,
                ExecState::decode(&blob, &format!("execution '{id}' of workflow '{wf}'"))?,
            )),
            _ => None,
        };
        Ok((exec, lv.unwrap_or(0)))
    }

    async fn next_request_idx(&self, wf: &str) -> Result<u64, Error> {
        let mut conn = self.conn.clone();
        let n: u64 = redis::cmd("INCR")
            .arg(self.key(wf, "next"))
            .query_async(&mut conn)
            .await?;
        Ok(n.saturating_sub(1))
    }

    async fn commit(
        &self,
        wf: &str,
        id: &str,
        expected: u64,
        state: &ExecState,
        learned: Option<LearnedWrite<'_>>,
    ) -> Result<Commit, Error> {
        let mut conn = self.conn.clone();
        let mut inv = self.commit.prepare_invoke();
        inv.key(self.exec_key(wf, id))
            .key(self.key(
                wf,
                &format!("learned:{}", learned.as_ref().map_or("none", |l| l.tag)),
            ))
            .key(self.key(wf, "live"))
            .arg(expected)
            .arg(state.encode())
            .arg(self.ttl_s)
            .arg(id);
        match &learned {
            Some(l) => inv.arg(l.expected).arg(l.blob),
            None => inv.arg("").arg(""),
        };
        let r: i64 = inv.invoke_async(&mut conn).await?;
        Ok(match r {
            -1 => Commit::ExecConflict,
            -2 => Commit::LearnedConflict,
            0 => Commit::Done(None),
            v => Commit::Done(Some(v as u64)),
        })
    }

    async fn delete(&self, wf: &str, id: &str) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let (n, _): (u64, u64) = redis::pipe()
            .cmd("DEL")
            .arg(self.exec_key(wf, id))
            .cmd("ZREM")
            .arg(self.key(wf, "live"))
            .arg(id)
            .query_async(&mut conn)
            .await?;
        Ok(n > 0)
    }

    async fn learned(&self, wf: &str, tag: &str) -> Result<Option<(u64, Vec<u8>)>, Error> {
        let mut conn = self.conn.clone();
        let (v, s): (Option<u64>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(self.key(wf, &format!("learned:{tag}")))
            .arg("v")
            .arg("s")
            .query_async(&mut conn)
            .await?;
        Ok(v.zip(s))
    }

    async fn count(&self, wf: &str) -> Result<u64, Error> {
        let mut conn = self.conn.clone();
        Ok(self
            .count
            .key(self.key(wf, "live"))
            .invoke_async(&mut conn)
            .await?)
    }

    async fn ping(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
