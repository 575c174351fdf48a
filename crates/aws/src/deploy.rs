//! Deploying configurations: a published version per (function, memory, workers) behind a faastune
//! alias ([`ensure_alias`], shared with the profiler), and a whole plan ([`apply`]): aliases, then the
//! state machine's definition. Every change is recorded in an [`UndoLog`]; when a step fails, the log
//! is replayed backwards so the account is as it was, and the error says what (if anything) could not
//! be undone.
//!
//! How one configuration is made, without changing what runs today: if the alias already points at a
//! version with the configuration, nothing is done. Otherwise `$LATEST` gets the memory and
//! `FAASTUNE_WORKERS`, a version is published, `$LATEST` is put back exactly as it was (memory and
//! environment), and the alias is created or moved to the new version.

use std::collections::BTreeMap;

use crate::Error;
use crate::naming::{self, WORKERS_ENV};
use crate::plan::{Changes, Target};
use crate::session::Session;

/// One change made, and how to take it back.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    /// An alias was created: delete it.
    DeleteAlias {
        /// Function.
        function: String,
        /// Alias.
        alias: String,
    },
    /// An alias was moved: point it back.
    RestoreAlias {
        /// Function.
        function: String,
        /// Alias.
        alias: String,
        /// The version it pointed at.
        version: String,
    },
    /// A version was published: delete it.
    DeleteVersion {
        /// Function.
        function: String,
        /// Version.
        version: String,
    },
    /// `$LATEST`'s configuration was changed: put it back.
    RestoreConfig {
        /// Function.
        function: String,
        /// Memory, MB.
        memory_mb: u32,
        /// Environment.
        env: Option<BTreeMap<String, String>>,
    },
    /// The definition was updated: put the old one back.
    RestoreDefinition {
        /// State machine ARN.
        arn: String,
        /// The old definition.
        definition: String,
    },
}

/// The changes made so far, newest last.
#[derive(Debug, Default)]
pub struct UndoLog(pub Vec<Undo>);

impl UndoLog {
    /// Takes every change back, newest first; returns what could not be undone.
    pub fn rollback(&mut self, s: &Session) -> Vec<String> {
        let mut failed = Vec::new();
        while let Some(u) = self.0.pop() {
            let r = match &u {
                Undo::DeleteAlias { function, alias } => s.delete_alias(function, alias),
                Undo::RestoreAlias {
                    function,
                    alias,
                    version,
                } => s.put_alias(function, alias, version, true),
                Undo::DeleteVersion { function, version } => s.delete_version(function, version),
                Undo::RestoreConfig {
                    function,
                    memory_mb,
                    env,
                } => s.update_config(function, *memory_mb, env.as_ref()),
                Undo::RestoreDefinition { arn, definition } => s.update_definition(arn, definition),
            };
            if let Err(e) = r {
                failed.push(format!("{u:?}: {e}"));
            }
        }
        failed
    }
}

/// What [`ensure_alias`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasOutcome {
    /// The alias already pointed at a version with the configuration.
    Kept {
        /// Its version.
        version: String,
    },
    /// A version was published and the alias created or moved to it.
    Published {
        /// The new version.
        version: String,
    },
}

/// Whether a version's configuration is `target`'s.
fn matches(c: &crate::session::VersionConfig, target: &Target) -> bool {
    let workers = c
        .env
        .as_ref()
        .and_then(|e| e.get(WORKERS_ENV))
        .map(String::as_str)
        .unwrap_or("1");
    c.memory_mb == target.memory_mb && workers == target.workers.to_string()
}

/// Makes `target.alias` point at a version of `target.function` with `target`'s memory and workers.
/// Records what it changed in `log` (a restored `$LATEST` is not recorded: it is already back).
pub fn ensure_alias(
    s: &Session,
    target: &Target,
    log: &mut UndoLog,
) -> Result<AliasOutcome, Error> {
    let f = &target.function;
    naming::check_memory(target.memory_mb)
        .map_err(|e| Error::Invalid(format!("function {f}: {e}")))?;
    naming::check_workers(target.workers)
        .map_err(|e| Error::Invalid(format!("function {f}: {e}")))?;
    let old_alias = s.alias_version(f, &target.alias)?;
    if let Some(v) = &old_alias
        && matches(&s.function_config(f, Some(v))?, target)
    {
        return Ok(AliasOutcome::Kept { version: v.clone() });
    }
    let latest = s.function_config(f, None)?;
    let mut env = latest.env.clone().unwrap_or_default();
    env.insert(WORKERS_ENV.to_owned(), target.workers.to_string());
    let changed = !matches(&latest, target) || latest.env.as_ref() != Some(&env);
    let newest_before = s.newest_version(f)?;
    if changed {
        s.update_config(f, target.memory_mb, Some(&env))?;
    }
    let published = s.publish_version(
        f,
        &format!(
            "faastune {}: {} MB, {} workers",
            target.alias, target.memory_mb, target.workers
        ),
    );
    // Put $LATEST back before anything else, whatever publishing did.
    let restored = if changed {
        s.update_config(f, latest.memory_mb, latest.env.as_ref())
    } else {
        Ok(())
    };
    let version = match (published, restored) {
        (Ok(v), Ok(())) => v,
        (Err(e), Ok(())) => return Err(e),
        (Ok(v), Err(e)) => {
            if v.parse::<u64>().is_ok_and(|n| Some(n) > newest_before) {
                log.0.push(Undo::DeleteVersion {
                    function: f.clone(),
                    version: v,
                });
            }
            log.0.push(Undo::RestoreConfig {
                function: f.clone(),
                memory_mb: latest.memory_mb,
                env: latest.env.clone(),
            });
            return Err(e);
        }
        (Err(e), Err(r)) => {
            log.0.push(Undo::RestoreConfig {
                function: f.clone(),
                memory_mb: latest.memory_mb,
                env: latest.env.clone(),
            });
            return Err(Error::Invalid(format!(
                "{e}; and putting $LATEST back failed: {r}"
            )));
        }
    };
    // Publishing an unchanged configuration returns the existing version: only a new one is ours to delete.
    let fresh = version
        .parse::<u64>()
        .is_ok_and(|v| Some(v) > newest_before);
    if fresh {
        log.0.push(Undo::DeleteVersion {
            function: f.clone(),
            version: version.clone(),
        });
    }
    s.put_alias(f, &target.alias, &version, old_alias.is_some())?;
    log.0.push(match old_alias {
        Some(v) => Undo::RestoreAlias {
            function: f.clone(),
            alias: target.alias.clone(),
            version: v,
        },
        None => Undo::DeleteAlias {
            function: f.clone(),
            alias: target.alias.clone(),
        },
    });
    Ok(AliasOutcome::Published { version })
}

/// What [`apply`] did, per target.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// Per target, its alias outcome.
    pub aliases: Vec<(Target, AliasOutcome)>,
    /// Whether the definition was updated.
    pub definition_updated: bool,
}

/// Applies `changes` to the state machine `arn` whose definition is now `definition_now`. On failure,
/// everything done is undone ([`Error::RolledBack`]).
pub fn apply(
    s: &Session,
    arn: &str,
    definition_now: &str,
    changes: &Changes,
) -> Result<Applied, Error> {
    let mut log = UndoLog::default();
    let mut aliases = Vec::new();
    let result = (|| {
        for t in &changes.targets {
            let o = ensure_alias(s, t, &mut log)?;
            aliases.push((t.clone(), o));
        }
        let updated = !changes.states.is_empty();
        if updated {
            let text = serde_json::to_string_pretty(&changes.definition)
                .map_err(|e| Error::Invalid(format!("serializing the definition: {e}")))?;
            s.update_definition(arn, &text)?;
            log.0.push(Undo::RestoreDefinition {
                arn: arn.to_owned(),
                definition: definition_now.to_owned(),
            });
        }
        Ok(updated)
    })();
    match result {
        Ok(definition_updated) => Ok(Applied {
            aliases,
            definition_updated,
        }),
        Err(cause) => {
            let undo_failures = log.rollback(s);
            Err(Error::RolledBack {
                cause: Box::new(cause),
                undo_failures,
            })
        }
    }
}
