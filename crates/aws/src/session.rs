//! AWS clients from the standard configuration, and the thin calls faastune makes through them.
//!
//! [`Settings`] follows the AWS CLI: `profile` (else `AWS_PROFILE`), `region` (else `AWS_REGION`, the
//! profile's region), `endpoint_url` (else `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_LAMBDA` /
//! `AWS_ENDPOINT_URL_SFN`, which the SDK reads itself). Credentials come from the SDK's default chain
//! (environment, profile files, SSO, process credentials, IMDS).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::types::{Environment, LogType};
use aws_smithy_types::Blob;

use crate::Error;
use crate::plan::FunctionNow;

/// Where and as whom to call AWS.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Named profile of the shared config files.
    pub profile: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Endpoint of every service (a local API server: `http://127.0.0.1:5000`).
    pub endpoint_url: Option<String>,
}

/// Clients and the runtime that drives them (blocking calls for the CLI).
pub struct Session {
    rt: tokio::runtime::Runtime,
    lambda: aws_sdk_lambda::Client,
    sfn: aws_sdk_sfn::Client,
    /// Seconds to wait between polls of a function update (0 in tests against a local server).
    pub poll: Duration,
}

/// An SDK error as one line: the server's error code and message where it gave them (`AccessDenied:
/// User ... is not authorized to perform: lambda:UpdateFunctionConfiguration`), else the HTTP status and
/// the code and message of an XML or JSON error body, else the SDK's own text with its causes.
pub(crate) fn api<E>(action: &str, target: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => match e.raw_response() {
            Some(r) => {
                let body = r
                    .body()
                    .bytes()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                format!("HTTP {}: {}", r.status().as_u16(), error_body(&body))
            }
            None => DisplayErrorContext(&e).to_string(),
        },
    };
    Error::Api {
        action: action.to_owned(),
        target: target.to_owned(),
        message,
    }
}

/// `Code: Message` of an XML (`<Code>`, `<Message>`) or JSON (`__type`/`code`, `message`) error body,
/// else its first 300 characters.
fn error_body(body: &str) -> String {
    let between = |open: &str, close: &str| {
        let i = body.find(open)? + open.len();
        let j = body[i..].find(close)? + i;
        Some(body[i..j].trim().to_owned())
    };
    if let (Some(c), Some(m)) = (
        between("<Code>", "</Code>"),
        between("<Message>", "</Message>"),
    ) {
        return format!("{c}: {m}");
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let code = v
            .get("__type")
            .or(v.get("code"))
            .or(v.get("Code"))
            .and_then(|c| c.as_str());
        let msg = v
            .get("message")
            .or(v.get("Message"))
            .and_then(|c| c.as_str());
        if let (Some(c), Some(m)) = (code, msg) {
            return format!("{c}: {m}");
        }
    }
    body.chars().take(300).collect()
}

/// What an invocation returned.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`), if the function failed.
    pub function_error: Option<String>,
    /// The decoded log tail (`LogType=Tail`), if the service returned one.
    pub log_tail: Option<String>,
    /// The response payload.
    pub payload: Vec<u8>,
}

/// The configuration of one published version or `$LATEST`.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionConfig {
    /// Memory, MB.
    pub memory_mb: u32,
    /// Environment variables (`None`: the function has no environment block).
    pub env: Option<BTreeMap<String, String>>,
    /// The version (`$LATEST` or a number).
    pub version: String,
    /// Timeout, seconds.
    pub timeout_s: u32,
    /// Architecture.
    pub architecture: String,
    /// `LastUpdateStatus` (`Successful`, `InProgress`, `Failed`).
    pub last_update: String,
}

impl Session {
    /// Builds the clients.
    pub fn new(settings: &Settings) -> Result<Session, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Invalid(format!("starting the async runtime: {e}")))?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(u) = &settings.endpoint_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(Error::Invalid(format!(
                    "--endpoint-url {u:?}: expected an http:// or https:// URL"
                )));
            }
            loader = loader.endpoint_url(u);
        }
        let config = rt.block_on(loader.load());
        if config.region().is_none() {
            return Err(Error::Invalid(
                "no AWS region: give --region, set AWS_REGION, or set one in the profile".into(),
            ));
        }
        Ok(Session {
            lambda: aws_sdk_lambda::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            rt,
            poll: Duration::from_secs(1),
        })
    }

    /// `lambda:GetFunctionConfiguration`.
    pub fn function_config(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<VersionConfig, Error> {
        let target = match qualifier {
            Some(q) => format!("function {name}:{q}"),
            None => format!("function {name}"),
        };
        let out = self
            .rt
            .block_on(
                self.lambda
                    .get_function_configuration()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_owned))
                    .send(),
            )
            .map_err(|e| api("lambda:GetFunctionConfiguration", &target, e))?;
        Ok(VersionConfig {
            memory_mb: out.memory_size().unwrap_or(128).max(0) as u32,
            env: out
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            version: out.version().unwrap_or("$LATEST").to_owned(),
            timeout_s: out.timeout().unwrap_or(3).max(0) as u32,
            architecture: out
                .architectures()
                .first()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_else(|| "x86_64".into()),
            last_update: out
                .last_update_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "Successful".into()),
        })
    }

    /// `$LATEST`'s memory, timeout and architecture.
    pub fn function_now(&self, name: &str) -> Result<FunctionNow, Error> {
        let c = self.function_config(name, None)?;
        Ok(FunctionNow {
            name: name.to_owned(),
            memory_mb: c.memory_mb,
            timeout_s: c.timeout_s,
            architecture: c.architecture,
        })
    }

    /// `lambda:UpdateFunctionConfiguration` of memory and environment, then waits until the update
    /// is done (`LastUpdateStatus` no longer `InProgress`, at most 5 minutes).
    pub fn update_config(
        &self,
        name: &str,
        memory_mb: u32,
        env: Option<&BTreeMap<String, String>>,
    ) -> Result<(), Error> {
        let target = format!("function {name}");
        let environment = env.map(|vars| {
            vars.iter()
                .fold(Environment::builder(), |b, (k, v)| b.variables(k, v))
                .build()
        });
        self.rt
            .block_on(
                self.lambda
                    .update_function_configuration()
                    .function_name(name)
                    .memory_size(memory_mb as i32)
                    .set_environment(environment)
                    .send(),
            )
            .map_err(|e| api("lambda:UpdateFunctionConfiguration", &target, e))?;
        for _ in 0..300 {
            let c = self.function_config(name, None)?;
            match c.last_update.as_str() {
                "InProgress" => {
                    let poll = self.poll;
                    self.rt.block_on(tokio::time::sleep(poll));
                }
                "Failed" => {
                    return Err(Error::Api {
                        action: "lambda:UpdateFunctionConfiguration".into(),
                        target,
                        message: "the update failed (LastUpdateStatus Failed)".into(),
                    });
                }
                _ => return Ok(()),
            }
        }
        Err(Error::Api {
            action: "lambda:UpdateFunctionConfiguration".into(),
            target,
            message: "still InProgress after 300 polls".into(),
        })
    }

    /// `lambda:PublishVersion`; the version number.
    pub fn publish_version(&self, name: &str, description: &str) -> Result<String, Error> {
        let out = self
            .rt
            .block_on(
                self.lambda
                    .publish_version()
                    .function_name(name)
                    .description(description)
                    .send(),
            )
            .map_err(|e| api("lambda:PublishVersion", &format!("function {name}"), e))?;
        out.version().map(str::to_owned).ok_or_else(|| Error::Api {
            action: "lambda:PublishVersion".into(),
            target: format!("function {name}"),
            message: "the response has no version".into(),
        })
    }

    /// `lambda:ListVersionsByFunction`: the highest published version number, `None` if none.
    pub fn newest_version(&self, name: &str) -> Result<Option<u64>, Error> {
        let mut newest = None;
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .rt
                .block_on(
                    self.lambda
                        .list_versions_by_function()
                        .function_name(name)
                        .set_marker(marker.take())
                        .send(),
                )
                .map_err(|e| {
                    api(
                        "lambda:ListVersionsByFunction",
                        &format!("function {name}"),
                        e,
                    )
                })?;
            for v in out.versions() {
                if let Some(n) = v.version().and_then(|v| v.parse::<u64>().ok()) {
                    newest = newest.max(Some(n));
                }
            }
            match out.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => return Ok(newest),
            }
        }
    }

    /// `lambda:GetAlias`: the version an alias points at, `None` if there is no such alias.
    pub fn alias_version(&self, name: &str, alias: &str) -> Result<Option<String>, Error> {
        match self.rt.block_on(
            self.lambda
                .get_alias()
                .function_name(name)
                .name(alias)
                .send(),
        ) {
            Ok(out) => Ok(out.function_version().map(str::to_owned)),
            Err(e) => {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception());
                if not_found {
                    Ok(None)
                } else {
                    Err(api(
                        "lambda:GetAlias",
                        &format!("function {name} alias {alias}"),
                        e,
                    ))
                }
            }
        }
    }

    /// `lambda:CreateAlias` or `lambda:UpdateAlias`.
    pub fn put_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        exists: bool,
    ) -> Result<(), Error> {
        let target = format!("function {name} alias {alias}");
        if exists {
            self.rt
                .block_on(
                    self.lambda
                        .update_alias()
                        .function_name(name)
                        .name(alias)
                        .function_version(version)
                        .send(),
                )
                .map(|_| ())
                .map_err(|e| api("lambda:UpdateAlias", &target, e))
        } else {
            self.rt
                .block_on(
                    self.lambda
                        .create_alias()
                        .function_name(name)
                        .name(alias)
                        .function_version(version)
                        .description(
                            "faastune: one configuration (memory, workers) of this function",
                        )
                        .send(),
                )
                .map(|_| ())
                .map_err(|e| api("lambda:CreateAlias", &target, e))
        }
    }

    /// `lambda:DeleteAlias`.
    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<(), Error> {
        self.rt
            .block_on(
                self.lambda
                    .delete_alias()
                    .function_name(name)
                    .name(alias)
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| {
                api(
                    "lambda:DeleteAlias",
                    &format!("function {name} alias {alias}"),
                    e,
                )
            })
    }

    /// `lambda:DeleteFunction` of one version.
    pub fn delete_version(&self, name: &str, version: &str) -> Result<(), Error> {
        self.rt
            .block_on(
                self.lambda
                    .delete_function()
                    .function_name(name)
                    .qualifier(version)
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| {
                api(
                    "lambda:DeleteFunction",
                    &format!("function {name}:{version}"),
                    e,
                )
            })
    }

    /// `lambda:Invoke` (synchronous, `LogType=Tail`).
    pub fn invoke(&self, name: &str, qualifier: &str, payload: &[u8]) -> Result<Invocation, Error> {
        let out = self
            .rt
            .block_on(
                self.lambda
                    .invoke()
                    .function_name(name)
                    .qualifier(qualifier)
                    .log_type(LogType::Tail)
                    .payload(Blob::new(payload.to_vec()))
                    .send(),
            )
            .map_err(|e| {
                api(
                    "lambda:InvokeFunction",
                    &format!("function {name}:{qualifier}"),
                    e,
                )
            })?;
        let log_tail = match out.log_result() {
            Some(b64) => Some(
                crate::report::decode_log_result(b64).map_err(|e| Error::Api {
                    action: "lambda:InvokeFunction".into(),
                    target: format!("function {name}:{qualifier}"),
                    message: e.to_string(),
                })?,
            ),
            None => None,
        };
        Ok(Invocation {
            function_error: out.function_error().map(str::to_owned),
            log_tail,
            payload: out
                .payload()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }

    /// `states:DescribeStateMachine`: (name, definition).
    pub fn describe_state_machine(&self, arn: &str) -> Result<(String, String), Error> {
        let out = self
            .rt
            .block_on(
                self.sfn
                    .describe_state_machine()
                    .state_machine_arn(arn)
                    .send(),
            )
            .map_err(|e| {
                api(
                    "states:DescribeStateMachine",
                    &format!("state machine {arn}"),
                    e,
                )
            })?;
        Ok((out.name().to_owned(), out.definition().to_owned()))
    }

    /// `states:UpdateStateMachine` of the definition.
    pub fn update_definition(&self, arn: &str, definition: &str) -> Result<(), Error> {
        self.rt
            .block_on(
                self.sfn
                    .update_state_machine()
                    .state_machine_arn(arn)
                    .definition(definition)
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| {
                api(
                    "states:UpdateStateMachine",
                    &format!("state machine {arn}"),
                    e,
                )
            })
    }

    /// `states:StartExecution`, then `states:DescribeExecution` until it ends (at most `timeout`):
    /// (status, output or error).
    pub fn run_execution(
        &self,
        arn: &str,
        input: &str,
        timeout: Duration,
    ) -> Result<(String, Option<String>), Error> {
        let target = format!("state machine {arn}");
        let exec = self
            .rt
            .block_on(
                self.sfn
                    .start_execution()
                    .state_machine_arn(arn)
                    .input(input)
                    .send(),
            )
            .map_err(|e| api("states:StartExecution", &target, e))?;
        let exec_arn = exec.execution_arn().to_owned();
        let step = Duration::from_millis(200);
        let mut waited = Duration::ZERO;
        loop {
            let d = self
                .rt
                .block_on(
                    self.sfn
                        .describe_execution()
                        .execution_arn(&exec_arn)
                        .send(),
                )
                .map_err(|e| api("states:DescribeExecution", &exec_arn, e))?;
            let status = d.status().as_str().to_owned();
            if status != "RUNNING" || waited >= timeout {
                let detail = d
                    .output()
                    .or(d.error())
                    .map(str::to_owned)
                    .or_else(|| d.cause().map(str::to_owned));
                return Ok((status, detail));
            }
            self.rt.block_on(tokio::time::sleep(step));
            waited += step;
        }
    }
}
