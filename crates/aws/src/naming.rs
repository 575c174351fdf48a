//! Names faastune gives to what it creates on AWS, and the rules of Lambda's names it checks.
//!
//! One configuration of a function is one published version behind one alias, named
//! `faastune-<memory>mb-w<workers>` (`faastune-1024mb-w2`): StepConf deploys "function versions per
//! memory size behind aliases", and the worker count travels in the version's environment
//! (`FAASTUNE_WORKERS`, read by the worker wrapper in `crates/aws/worker-py`), so a configuration is the
//! pair. Aliases outside the `faastune-` prefix are never touched.

/// Prefix of every alias faastune creates.
pub const ALIAS_PREFIX: &str = "faastune-";

/// The environment variable that carries the worker count to the function.
pub const WORKERS_ENV: &str = "FAASTUNE_WORKERS";

/// Smallest memory size Lambda accepts, MB.
pub const MIN_MEMORY_MB: u32 = 128;
/// Largest memory size Lambda accepts, MB.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Largest worker count faastune deploys (the worker wrapper's bound).
pub const MAX_WORKERS: u32 = 64;

/// The alias of a configuration.
pub fn alias_name(memory_mb: u32, workers: u32) -> String {
    format!("{ALIAS_PREFIX}{memory_mb}mb-w{workers}")
}

/// The configuration an alias of ours names, or `None` for any other alias.
pub fn parse_alias(alias: &str) -> Option<(u32, u32)> {
    let rest = alias.strip_prefix(ALIAS_PREFIX)?;
    let (mem, workers) = rest.split_once("mb-w")?;
    let m: u32 = mem.parse().ok()?;
    let w: u32 = workers.parse().ok()?;
    (alias_name(m, w) == alias).then_some((m, w))
}

/// Checks a memory size against Lambda's range (whole MB, 128 to 10,240).
pub fn check_memory(memory_mb: u32) -> Result<(), String> {
    if (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&memory_mb) {
        Ok(())
    } else {
        Err(format!(
            "memory {memory_mb} MB is outside Lambda's {MIN_MEMORY_MB}..={MAX_MEMORY_MB} MB"
        ))
    }
}

/// Checks a worker count (1 to [`MAX_WORKERS`]).
pub fn check_workers(workers: u32) -> Result<(), String> {
    if (1..=MAX_WORKERS).contains(&workers) {
        Ok(())
    } else {
        Err(format!("workers {workers} is outside 1..={MAX_WORKERS}"))
    }
}

/// A Lambda function reference as Step Functions and the Lambda API take it: a name (`resize`), a
/// partial ARN (`123456789012:function:resize`) or a full ARN
/// (`arn:aws:lambda:us-east-1:123456789012:function:resize`), each optionally with `:qualifier`
/// (a version or an alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// Everything before the function name (`arn:aws:lambda:...:function:`), empty for a plain name.
    pub prefix: String,
    /// The function name.
    pub name: String,
    /// The version or alias, if any.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses a reference; `None` when the text is not a Lambda function reference.
    pub fn parse(text: &str) -> Option<FunctionRef> {
        let (prefix, rest) = match text.find(":function:") {
            Some(i) => (
                text[..i + ":function:".len()].to_owned(),
                &text[i + ":function:".len()..],
            ),
            None if text.starts_with("arn:") => return None,
            None => (String::new(), text),
        };
        let (name, qualifier) = match rest.split_once(':') {
            Some((n, q)) => (n, Some(q.to_owned())),
            None => (rest, None),
        };
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid
            || qualifier
                .as_deref()
                .is_some_and(|q| q.is_empty() || q.contains(':'))
        {
            return None;
        }
        Some(FunctionRef {
            prefix,
            name: name.to_owned(),
            qualifier,
        })
    }

    /// The same reference with another qualifier.
    pub fn with_qualifier(&self, qualifier: &str) -> String {
        format!("{}{}:{qualifier}", self.prefix, self.name)
    }

    /// The reference as written.
    pub fn text(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}{}:{q}", self.prefix, self.name),
            None => format!("{}{}", self.prefix, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_round_trip_and_foreign_ones_are_ignored() {
        assert_eq!(alias_name(1024, 2), "faastune-1024mb-w2");
        assert_eq!(parse_alias("faastune-1024mb-w2"), Some((1024, 2)));
        for foreign in [
            "prod",
            "faastune-",
            "faastune-1024mb",
            "faastune-01024mb-w2",
            "faastune-xmb-w1",
        ] {
            assert_eq!(parse_alias(foreign), None, "{foreign}");
        }
        // Lambda's alias rule: [a-zA-Z0-9-_]+, not all digits, at most 128 characters.
        let a = alias_name(MAX_MEMORY_MB, MAX_WORKERS);
        assert!(
            a.len() <= 128
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn memory_and_workers_are_checked() {
        assert!(check_memory(128).is_ok() && check_memory(10_240).is_ok());
        assert!(check_memory(64).unwrap_err().contains("128..=10240"));
        assert!(check_memory(10_241).is_err());
        assert!(
            check_workers(0).is_err() && check_workers(65).is_err() && check_workers(4).is_ok()
        );
    }

    #[test]
    fn function_references_parse_in_every_form() {
        let f =
            FunctionRef::parse("arn:aws:lambda:us-east-1:123456789012:function:resize").unwrap();
        assert_eq!((f.name.as_str(), f.qualifier.as_deref()), ("resize", None));
        assert_eq!(
            f.with_qualifier("faastune-512mb-w1"),
            "arn:aws:lambda:us-east-1:123456789012:function:resize:faastune-512mb-w1"
        );
        let q = FunctionRef::parse("arn:aws:lambda:us-east-1:1:function:resize:$LATEST").unwrap();
        assert_eq!(q.qualifier.as_deref(), Some("$LATEST"));
        assert_eq!(
            q.text(),
            "arn:aws:lambda:us-east-1:1:function:resize:$LATEST"
        );
        let p = FunctionRef::parse("123456789012:function:thumb:7").unwrap();
        assert_eq!(
            (p.prefix.as_str(), p.name.as_str()),
            ("123456789012:function:", "thumb")
        );
        let n = FunctionRef::parse("thumb").unwrap();
        assert_eq!(n.with_qualifier("a"), "thumb:a");
        assert_eq!(FunctionRef::parse("arn:aws:states:::lambda:invoke"), None);
        assert_eq!(FunctionRef::parse("bad name"), None);
        assert_eq!(FunctionRef::parse("f:"), None);
    }
}
