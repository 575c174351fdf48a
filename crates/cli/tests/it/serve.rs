//! `faastune serve` (feature `serve`) as a process on a loopback port: its decisions are `faastune
//! plan`'s for the same inputs (every model kind: fitted, oracle, a model file), an execution served
//! from Redis survives the server being killed mid-execution, SIGHUP reloads a workflows directory,
//! bad flags are errors that name them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{err_stderr, ok_stdout, root};

/// The platform both `plan` and `serve` run on here; its orchestrator transition delay, seconds.
const PLATFORM: &str = "examples/platform-lambda.yaml";
const TRANSITION_S: f64 = 0.02;

/// A `faastune serve` process; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `faastune serve ARGS --listen 127.0.0.1:0` and waits for its "listening on" line.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_faastune"))
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--log", "warn"])
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("faastune serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Server { child, addr }
    }

    /// One HTTP/1.1 request; (status, JSON body).
    fn call(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let body = resp.split_once("\r\n\r\n").map_or("", |x| x.1);
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn decide(&self, id: &str, step: &str, elapsed_s: f64) -> Value {
        let (status, v) = self.call(
            "POST",
            &format!("/v1/executions/{id}/steps/{step}/decide"),
            &format!("{{\"elapsed_s\": {elapsed_s}}}"),
        );
        assert_eq!(status, 200, "{v}");
        v
    }

    /// Kills it at once (SIGKILL: no shutdown, nothing flushed).
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plan(args: &[&str]) -> Value {
    let mut all = vec!["plan", "--json", "--platform", PLATFORM];
    all.extend_from_slice(args);
    serde_json::from_str(&ok_stdout(&all)).unwrap()
}

/// Every task step of `plan` in the plan's order (the order Algorithm 2 ran offline: topological),
/// with the elapsed time at its start as the simulator gives it to a policy (predicted start + the
/// transition delay).
fn plan_steps(plan: &Value) -> Vec<(String, f64, &Value)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["is_task"] == true)
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["start_s_pred"].as_f64().unwrap() + TRANSITION_S,
                s,
            )
        })
        .collect()
}

/// Asserts a decision is the plan step's configuration and sub-SLO.
fn assert_same(decision: &Value, planned: &Value) {
    for k in ["memory_mb", "fan_out", "workers"] {
        assert_eq!(decision[k], planned[k], "{k}: {decision} vs {planned}");
    }
    let (a, b) = (
        decision["sub_slo_s"].as_f64().unwrap(),
        planned["sub_slo_s"].as_f64().unwrap(),
    );
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{decision} vs {planned}"
    );
    let (m, w) = (&decision["memory_mb"], &decision["workers"]);
    assert_eq!(decision["alias"], format!("faastune-{m}mb-w{w}"));
}

/// With every step starting when `plan` predicts, the dynamic StepConf decides what the offline plan
/// (Algorithm 2 over predicted starts) chose.
fn check_against_plan(wf: &str, model_args: &[&str]) {
    let mut args = vec!["--workflow", wf, "--policy", "stepconf"];
    args.extend_from_slice(model_args);
    let planned = plan(&args);
    let mut serve_args = args.clone();
    serve_args.extend_from_slice(&["--platform", PLATFORM]);
    let server = Server::start(&serve_args);
    for (step, elapsed_s, p) in plan_steps(&planned) {
        assert_same(&server.decide("x", &step, elapsed_s), p);
    }
}

#[test]
fn serve_decides_as_plan_with_fitted_oracle_and_file_models() {
    check_against_plan("examples/synthetic16.yaml", &["--model", "oracle"]);
    check_against_plan("examples/video.yaml", &["--model", "fitted", "--seed", "3"]);
    // A model fitted to samples and saved (`fit --samples --save`), applied by step name.
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-model-file");
    std::fs::create_dir_all(&d).unwrap();
    let wf = d.join("two.yaml");
    std::fs::write(
        &wf,
        "name: two\nslo_s: 20\nsteps:\n  - {name: resize, jobs: 4, work_s: 0.5, parallel_fraction: 0.5}\n  - {name: thumb, after: [resize], jobs: 2, work_s: 0.3}\n",
    )
    .unwrap();
    let mut csv = String::from("function,memory_mb,fan_out,workers,jobs,duration_s\n");
    for (f, scale) in [("resize", 1.0), ("thumb", 0.3)] {
        for m in (128..=3008).step_by(192) {
            let share = f64::from(m).min(1769.0) / 1769.0;
            csv.push_str(&format!("{f},{m},1,1,1,{}\n", scale * (3.0 / share + 0.5)));
        }
    }
    let samples = d.join("samples.csv");
    std::fs::write(&samples, csv).unwrap();
    let model = d.join("model.json");
    ok_stdout(&[
        "fit",
        "--samples",
        samples.to_str().unwrap(),
        "--save",
        model.to_str().unwrap(),
    ]);
    check_against_plan(
        wf.to_str().unwrap(),
        &["--model-file", model.to_str().unwrap()],
    );
}

/// A child process killed when dropped (also when the test fails).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A redis-server of the test's own on a free loopback port (`FAASTUNE_REDIS_SERVER` or
/// `redis-server`); `None` (skipped, with a message) when there is none, except under CI.
fn redis_server(dir: &std::path::Path) -> Option<(Killed, u16)> {
    let bin = std::env::var("FAASTUNE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::create_dir_all(dir).unwrap();
    let child = Command::new(&bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        let msg = format!("no redis-server ('{bin}'): install it or set FAASTUNE_REDIS_SERVER");
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg} (required under CI)"
        );
        eprintln!("skipped: {msg}");
        return None;
    };
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((Killed(child), port));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("redis-server did not listen on {port}");
}

#[test]
fn an_execution_in_redis_survives_the_server_being_killed() {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-redis");
    let Some((_redis, port)) = redis_server(&d) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{port}/");
    let args = [
        "--workflow",
        "examples/synthetic16.yaml",
        "--model",
        "oracle",
        "--platform",
        PLATFORM,
        "--store",
        &url,
    ];
    let planned = plan(&[
        "--workflow",
        "examples/synthetic16.yaml",
        "--policy",
        "stepconf",
        "--model",
        "oracle",
    ]);
    let steps = plan_steps(&planned);
    let (first, rest) = steps.split_at(steps.len() / 2);
    let server = Server::start(&args);
    for (step, elapsed_s, p) in first {
        assert_same(&server.decide("exec-1", step, *elapsed_s), p);
    }
    let (_, before) = server.call("GET", "/v1/executions/exec-1", "");
    server.kill();
    let server = Server::start(&args);
    let (status, after) = server.call("GET", "/v1/executions/exec-1", "");
    assert_eq!(status, 200);
    assert_eq!(before, after);
    assert!(
        after["policy_state"]["step_conf"]["cache"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| !e.is_null())
    );
    for (step, elapsed_s, p) in rest {
        assert_same(&server.decide("exec-1", step, *elapsed_s), p);
    }
    // Decided steps stay decided across the restart.
    let (status, v) = server.call(
        "POST",
        &format!("/v1/executions/exec-1/steps/{}/decide", first[0].0),
        "{\"elapsed_s\": 1}",
    );
    assert_eq!(status, 409, "{v}");
    let (status, _) = server.call("DELETE", "/v1/executions/exec-1", "");
    assert_eq!(status, 204);
}

#[test]
fn bad_flags_are_errors_that_name_them() {
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--policy",
        "optimal",
        "--model",
        "oracle",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(
        e.contains("policy 'optimal' is not served")
            && e.contains("stepconf, intra-only, inter-only, replan"),
        "{e}"
    );
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--store",
        "postgres://x",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(e.contains("--store postgres://x"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/nope.yaml",
        "--model",
        "oracle",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(e.contains("examples/nope.yaml"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--workflows-dir",
        "examples",
    ]);
    assert!(e.contains("--workflows-dir"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--slo=-1",
        "--model",
        "oracle",
    ]);
    assert!(e.contains("--slo"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--model",
        "oracle",
        "--listen",
        "256.0.0.1:1",
    ]);
    assert!(e.contains("--listen 256.0.0.1:1"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--model",
        "oracle",
        "--log",
        "==",
    ]);
    assert!(e.contains("--log"), "{e}");
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--model",
        "oracle",
        "--api-key-file",
        "no/such/api-key",
    ]);
    assert!(e.contains("--api-key-file no/such/api-key"), "{e}");
    let short = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("short-api-key");
    std::fs::write(&short, "abc\n").unwrap();
    let e = err_stderr(&[
        "serve",
        "--workflow",
        "examples/synthetic16.yaml",
        "--model",
        "oracle",
        "--api-key-file",
        short.to_str().unwrap(),
    ]);
    assert!(e.contains("16 to 4096"), "{e}");
}

#[cfg(feature = "aws")]
#[test]
fn aliases_are_the_ones_aws_deploy_publishes() {
    for (m, w) in [(128, 1), (1024, 2), (10_240, 64)] {
        assert_eq!(serve::alias_name(m, w), aws::naming::alias_name(m, w));
    }
}

#[cfg(unix)]
#[test]
fn sighup_reloads_a_workflows_directory() {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-sighup");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(
        root().join("examples/synthetic16.yaml"),
        d.join("synthetic16.yaml"),
    )
    .unwrap();
    std::fs::copy(
        root().join("examples/pipeline5.yaml"),
        d.join("pipeline5.yaml"),
    )
    .unwrap();
    std::fs::write(d.join("pipeline5.serve.yaml"), "slo_s: 5\n").unwrap();
    let server = Server::start(&["--workflows-dir", d.to_str().unwrap(), "--model", "oracle"]);
    let (status, v) = server.call("GET", "/v1/workflows/pipeline5", "");
    assert_eq!(
        (status, &v["slo_s"], &v["policy"]),
        (200, &Value::from(5.0), &Value::from("stepconf"))
    );
    std::fs::write(d.join("pipeline5.serve.yaml"), "slo_s: 7\npolicy: replan\n").unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut seen = Value::Null;
    for _ in 0..100 {
        seen = server.call("GET", "/v1/workflows/pipeline5", "").1;
        if seen["slo_s"] == 7.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        (&seen["slo_s"], &seen["policy"]),
        (&Value::from(7.0), &Value::from("replan"))
    );
    let (_, m) = server.call("GET", "/v1/workflows", "");
    assert_eq!(m["workflows"].as_array().unwrap().len(), 2);
}
