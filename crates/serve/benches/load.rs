//! Load generator of the decision service (bench/serve.md): decisions per second and decision latency
//! over HTTP on loopback, and the state size per execution.
//!
//! `cargo bench -p serve --bench load -- [FLAGS]`:
//! - `--rate N` (2000): decisions per second, open loop (one decision every 1/N s whatever the
//!   answers; each followed by its finish report, and a DELETE after an execution's last step), or
//!   `--max C`: closed loop, C clients each deciding as fast as answers come (the throughput ceiling);
//! - `--seconds S` (10), `--warmup S` (1): measured time after a warm-up;
//! - `--workflow FILE` (examples/synthetic16.yaml), `--policy P` (stepconf), oracle model;
//! - `--store memory|redis://HOST:PORT` (memory): the in-process server's store, or `--url
//!   http://HOST:PORT` to load a running `faastune serve` (its default workflow) instead;
//! - `--server-threads N` (2): worker threads of the in-process server's runtime (the generator has
//!   one thread of its own).
//!
//! Latency is measured in the client: request written to response read, per decision; the server's
//! own histogram (`/metrics`) is summarised beside it. Every answer must be 2xx (errors are counted
//! and reported).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serve::App;
use serve::config::{ModelSpec, OracleOnly, Source, WorkflowConfig};

struct Args {
    rate: f64,
    max: Option<usize>,
    seconds: f64,
    warmup: f64,
    workflow: String,
    policy: String,
    store: String,
    url: Option<String>,
    server_threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rate: 2000.0,
        max: None,
        seconds: 10.0,
        warmup: 1.0,
        workflow: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/synthetic16.yaml"
        )
        .to_owned(),
        policy: "stepconf".to_owned(),
        store: "memory".to_owned(),
        url: None,
        server_threads: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--rate" => a.rate = num(value()?)?,
            "--max" => a.max = Some(num(value()?)? as usize),
            "--seconds" => a.seconds = num(value()?)?,
            "--warmup" => a.warmup = num(value()?)?,
            "--workflow" => a.workflow = value()?,
            "--policy" => a.policy = value()?,
            "--store" => a.store = value()?,
            "--url" => a.url = Some(value()?),
            "--server-threads" => a.server_threads = num(value()?)? as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(a.rate > 0.0 && a.seconds > 0.0 && a.warmup >= 0.0 && a.server_threads > 0) {
        return Err("--rate, --seconds and --server-threads must be > 0".to_owned());
    }
    Ok(a)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// One request; (status, body).
async fn request(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: String,
) -> Result<(u16, Bytes), String> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = client.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// What the generator counts.
#[derive(Default)]
struct Counts {
    decisions: AtomicU64,
    other_requests: AtomicU64,
    errors: AtomicU64,
}

/// Decision `i` of the run: execution `i / n`, its step `i % n` (topological order) at an elapsed time
/// of 2.5 s per earlier step; then the finish report (2 s), and a DELETE of an execution (`lag`:
/// execution `i / n - lag` at its first step; `None`: this one after its last step). Returns the
/// decision's latency, seconds.
async fn one(
    client: &HttpClient,
    base: &str,
    steps: &[String],
    run: &str,
    i: u64,
    lag: Option<u64>,
    counts: &Counts,
) -> Option<f64> {
    let n = steps.len() as u64;
    let (exec, k) = (i / n, (i % n) as usize);
    let url = format!("{base}/v1/executions/{run}-{exec}/steps/{}", steps[k]);
    let body = format!("{{\"elapsed_s\": {}}}", 2.5 * k as f64);
    let t0 = serve::clock::instant_now();
    let r = request(client, "POST", &format!("{url}/decide"), body).await;
    let latency = t0.elapsed().as_secs_f64();
    let ok = matches!(&r, Ok((200, _)));
    if !ok {
        counts.errors.fetch_add(1, Relaxed);
        if counts.errors.load(Relaxed) <= 3 {
            eprintln!("decision {i} failed: {r:?}");
        }
        return None;
    }
    counts.decisions.fetch_add(1, Relaxed);
    let r = request(
        client,
        "POST",
        &format!("{url}/finish"),
        "{\"duration_s\": 2.0}".to_owned(),
    )
    .await;
    counts.other_requests.fetch_add(1, Relaxed);
    if !matches!(r, Ok((200, _))) {
        counts.errors.fetch_add(1, Relaxed);
    }
    // The open loop ends execution e at the first decision of e + lag (its requests have long been
    // answered; ending it after its last step's finish could overtake an earlier step's finish), the
    // closed loop after its last step.
    let end = match lag {
        Some(lag) if k == 0 && exec >= lag => Some(exec - lag),
        None if k + 1 == steps.len() => Some(exec),
        _ => None,
    };
    if let Some(e) = end {
        let r = request(
            client,
            "DELETE",
            &format!("{base}/v1/executions/{run}-{e}"),
            String::new(),
        )
        .await;
        counts.other_requests.fetch_add(1, Relaxed);
        if !matches!(r, Ok((204, _))) {
            counts.errors.fetch_add(1, Relaxed);
        }
    }
    Some(latency)
}

fn percentiles(mut xs: Vec<f64>) -> String {
    des::stats::sort(&mut xs);
    let q = |q: f64| des::stats::quantile_sorted(&xs, q).unwrap_or(f64::NAN) * 1e3;
    format!(
        "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms ({} decisions)",
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        q(1.0),
        xs.len()
    )
}

/// The server's decision-latency histogram from `/metrics`: share of decisions within 0.25, 0.5 and
/// 1 ms.
async fn server_histogram(client: &HttpClient, base: &str) -> String {
    let Ok((200, body)) = request(client, "GET", &format!("{base}/metrics"), String::new()).await
    else {
        return "unavailable".to_owned();
    };
    let text = String::from_utf8_lossy(&body);
    let get = |le: &str| -> f64 {
        text.lines()
            .find(|l| {
                l.starts_with("faastune_serve_decision_seconds_bucket")
                    && l.contains(&format!("le=\"{le}\""))
            })
            .and_then(|l| l.rsplit_once(' '))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let all = get("+Inf");
    format!(
        "{:.2}% <= 0.25 ms, {:.2}% <= 0.5 ms, {:.2}% <= 1 ms, {:.2}% <= 2.5 ms of {all} decisions (server-side, warm-up included)",
        100.0 * get("0.00025") / all,
        100.0 * get("0.0005") / all,
        100.0 * get("0.001") / all,
        100.0 * get("0.0025") / all,
    )
}

/// State size per execution: one execution decided and finished step by step, its stored blob (and,
/// in Redis, `MEMORY USAGE` of its key); the learned-state blob for a policy that learns.
async fn state_sizes(args: &Args) -> Result<String, String> {
    let mut out = String::new();
    for policy in ["stepconf", "replan"] {
        let store = serve::open_store(
            &args.store,
            "faastune-bench-size:",
            Duration::from_secs(600),
        )
        .await
        .map_err(|e| e.to_string())?;
        let app = App::new(source(&args.workflow, policy), Arc::new(OracleOnly), store)
            .map_err(|e| e.to_string())?;
        let engine = app.engine(None).map_err(|e| e.to_string())?;
        let steps: Vec<String> = engine
            .workflow
            .topo_order()
            .iter()
            .map(|&s| engine.workflow.step(s).name.clone())
            .collect();
        let id = "size-probe";
        let _ = engine.delete(&app.store, id).await;
        let learned_key = format!(
            "faastune-bench-size:{{{}}}:learned:{:016x}",
            engine.name, engine.dag_hash
        );
        let redis_conn = match &app.store {
            serve::store::Store::Redis(_) => {
                let client = redis::Client::open(args.store.as_str()).map_err(|e| e.to_string())?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| e.to_string())?;
                // What one execution leaves, not what earlier probes learned.
                let _: u64 = redis::cmd("DEL")
                    .arg(&learned_key)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Some(conn)
            }
            serve::store::Store::Memory(_) => None,
        };
        for (k, s) in steps.iter().enumerate() {
            engine
                .decide(&app.store, id, s, 2.5 * k as f64)
                .await
                .map_err(|e| e.to_string())?;
            let report = serve::engine::FinishReport {
                duration_s: 2.0,
                start_s: None,
                cost_usd: 0.0,
                n_cold_starts: 0,
            };
            engine
                .finish(&app.store, id, s, report)
                .await
                .map_err(|e| e.to_string())?;
        }
        let state = engine
            .get(&app.store, id)
            .await
            .map_err(|e| e.to_string())?;
        out.push_str(&format!(
            "{policy}: execution state blob {} bytes ({} steps, all decided and finished)",
            state.encode().len(),
            steps.len()
        ));
        if let Some(mut conn) = redis_conn {
            let key = format!("faastune-bench-size:{{{}}}:x:{id}", engine.name);
            let bytes: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            out.push_str(&format!(
                "; Redis MEMORY USAGE of its key {} bytes",
                bytes.unwrap_or(0)
            ));
            if policy == "replan" {
                let learned: Option<u64> = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(&learned_key)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                out.push_str(&format!(
                    "; the workflow's learned-state key after it {} bytes",
                    learned.unwrap_or(0)
                ));
            }
        }
        out.push('\n');
        let _ = engine.delete(&app.store, id).await;
    }
    Ok(out)
}

fn source(workflow: &str, policy: &str) -> Source {
    Source::Single(WorkflowConfig {
        workflow: workflow.into(),
        slo_s: None,
        policy: policy.to_owned(),
        model: ModelSpec::Named("oracle".to_owned()),
        platform: None,
        seed: 0,
        origin: "--workflow".to_owned(),
    })
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // The in-process server, on a runtime of its own.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads)
        .enable_all()
        .build()
        .expect("server runtime");
    let (base, steps) = match &args.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let (addr, steps) = server_rt.block_on(async {
                let store =
                    serve::open_store(&args.store, "faastune-bench:", Duration::from_secs(600))
                        .await
                        .expect("store opens");
                let app = Arc::new(
                    App::new(
                        source(&args.workflow, &args.policy),
                        Arc::new(OracleOnly),
                        store,
                    )
                    .expect("workflow loads"),
                );
                let engine = app.engine(None).expect("one workflow");
                let steps: Vec<String> = engine
                    .workflow
                    .topo_order()
                    .iter()
                    .map(|&s| engine.workflow.step(s).name.clone())
                    .collect();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = listener.local_addr().expect("address");
                tokio::spawn(serve::serve(
                    app,
                    listener,
                    Duration::from_secs(60),
                    std::future::pending(),
                ));
                (addr, steps)
            });
            (format!("http://{addr}"), Some(steps))
        }
    };
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    client_rt.block_on(async {
        let client: HttpClient = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build_http();
        let steps = match steps {
            Some(s) => s,
            None => {
                let (_, body) = request(&client, "GET", &format!("{base}/v1/workflows"), String::new())
                    .await
                    .expect("GET /v1/workflows");
                let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                let wf = &v["workflows"][0];
                wf["steps"]
                    .as_array()
                    .expect("steps")
                    .iter()
                    .filter(|s| s["kind"] == "task")
                    .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
                    .collect()
            }
        };
        let steps = Arc::new(steps);
        let counts = Arc::new(Counts::default());
        let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let run = format!("b{}", std::process::id());
        let measure_from = args.warmup;
        let total = args.warmup + args.seconds;
        let t0 = serve::clock::instant_now();
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let measured_decisions = Arc::new(AtomicU64::new(0));
        match args.max {
            None => {
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                loop {
                    tick.tick().await;
                    let at = t0.elapsed().as_secs_f64();
                    if at >= total {
                        break;
                    }
                    let i = next.fetch_add(1, Relaxed);
                    let (client, base, steps, run, counts, lat, md) = (
                        client.clone(),
                        base.clone(),
                        steps.clone(),
                        run.clone(),
                        counts.clone(),
                        latencies.clone(),
                        measured_decisions.clone(),
                    );
                    tasks.push(tokio::spawn(async move {
                        if let Some(l) = one(&client, &base, &steps, &run, i, Some(4), &counts).await
                            && at >= measure_from
                        {
                            md.fetch_add(1, Relaxed);
                            lat.lock().unwrap_or_else(|p| p.into_inner()).push(l);
                        }
                    }));
                }
            }
            Some(c) => {
                for _ in 0..c {
                    let (client, base, steps, run, counts, lat, md, next) = (
                        client.clone(),
                        base.clone(),
                        steps.clone(),
                        run.clone(),
                        counts.clone(),
                        latencies.clone(),
                        measured_decisions.clone(),
                        next.clone(),
                    );
                    tasks.push(tokio::spawn(async move {
                        // Each client takes whole executions, so its steps go in order.
                        let n = steps.len() as u64;
                        loop {
                            let exec = next.fetch_add(1, Relaxed);
                            for k in 0..n {
                                let at = t0.elapsed().as_secs_f64();
                                if at >= total {
                                    return;
                                }
                                if let Some(l) = one(&client, &base, &steps, &run, exec * n + k, None, &counts).await
                                    && at >= measure_from
                                {
                                    md.fetch_add(1, Relaxed);
                                    lat.lock().unwrap_or_else(|p| p.into_inner()).push(l);
                                }
                            }
                        }
                    }));
                }
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        let wall = t0.elapsed().as_secs_f64();
        let lat = std::mem::take(&mut *latencies.lock().unwrap_or_else(|p| p.into_inner()));
        let measured_s = (wall - measure_from).max(1e-9);
        println!(
            "load: {} | workflow {} ({} task steps) | policy {} | store {} | server threads {}",
            match args.max {
                None => format!("open loop at {} decisions/s", args.rate),
                Some(c) => format!("closed loop, {c} clients"),
            },
            args.workflow,
            steps.len(),
            args.policy,
            if args.url.is_some() { format!("(external server {base})") } else { args.store.clone() },
            args.server_threads
        );
        println!(
            "measured {:.1} s after {:.1} s warm-up: {:.0} decisions/s ({} decisions, plus finish and delete requests: {:.0} requests/s in all); errors {}",
            measured_s,
            measure_from,
            measured_decisions.load(Relaxed) as f64 / measured_s,
            measured_decisions.load(Relaxed),
            (counts.decisions.load(Relaxed) + counts.other_requests.load(Relaxed)) as f64 / wall,
            counts.errors.load(Relaxed)
        );
        println!("decision latency (client, HTTP round trip): {}", percentiles(lat));
        println!("decision latency (server): {}", server_histogram(&client, &base).await);
    });
    if args.url.is_none() {
        match server_rt.block_on(state_sizes(&args)) {
            Ok(s) => print!("{s}"),
            Err(e) => println!("state size: {e}"),
        }
    }
    server_rt.shutdown_timeout(Duration::from_millis(100));
}
