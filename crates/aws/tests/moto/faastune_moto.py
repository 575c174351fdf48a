"""A local AWS API server for faastune's AWS tests: moto's server (pinned in .ci/run) on 127.0.0.1,
with a fixture created through the real API, and Lambda's REPORT log tail added to invocations.

moto without Docker runs no function code (its "simple" Lambda backend answers every Invoke with the
request payload), so it writes no logs. Real Lambda returns, with LogType=Tail, the last 4 KB of the
invocation's log ending in a REPORT line. This wrapper adds that tail, computed from a work model in
the function's environment, so the profiler reads what it would read on AWS:

- FAASTUNE_TEST_WORK_MS: CPU milliseconds of one item (one job) at one full vCPU (default 100); an
  invocation processes the items of its payload's `items` array (one if there is none)
- FAASTUNE_TEST_MIN_MEMORY_MB: below this memory the invocation runs out of memory (default 0)
- FAASTUNE_TEST_INIT_MS: init duration of a cold start (default 250)
- FAASTUNE_TEST_DECISION: a JSON decision the function returns as it is (a stand-in configurator)
- FAASTUNE_TEST_CONFIGURATOR_BIN: the function is faastune-configurator: each invocation runs this
  binary once (`--event -`, the payload on stdin) with the function's environment (FAASTUNE_WORKFLOW,
  FAASTUNE_STORE, ...), as a fresh Lambda instance would; its answer is the function's result and a
  refusal is a function error with the binary's error type (`faastune.conflict`, ...)

Duration = ceil(items / busy) * work / min(1, vcpus / busy), with busy = min(workers, items) worker
processes (FAASTUNE_WORKERS, as crates/aws/worker-py runs them) sharing vcpus = memory / 1769 (Lambda's
documented 1 vCPU at 1,769 MB), plus a 1% deterministic ripple; the first invocation of each (function, version) is cold. An invocation longer
than the function's timeout is reported as Lambda reports a timeout.

Usage: python faastune_moto.py --fixture FILE [--port N] [--enforce-auth]
Prints one JSON line {"endpoint", "state_machines": {name: arn}, "users": {name: {key, secret}}} when
ready, then serves until killed.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid

from moto.core.config import default_user_config

default_user_config["lambda"]["use_docker"] = False
default_user_config["stepfunctions"]["execute_state_machine"] = True

import boto3  # noqa: E402
from moto import settings  # noqa: E402
from moto.awslambda.responses import LambdaResponse  # noqa: E402
from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
_seen = set()
_calls = {}


def _report(fn, workers, items):
    env = fn.environment_vars or {}
    work = float(env.get("FAASTUNE_TEST_WORK_MS", "100"))
    min_mem = int(env.get("FAASTUNE_TEST_MIN_MEMORY_MB", "0"))
    init_ms = float(env.get("FAASTUNE_TEST_INIT_MS", "250"))
    mem = int(fn.memory_size)
    vcpus = mem / 1769.0
    key = (fn.function_name, fn.version)
    n = _calls.get(key, 0)
    _calls[key] = n + 1
    ripple = 1.0 + 0.01 * ((n * 7919) % 5 - 2) / 2.0
    busy = max(1, min(workers, items))
    duration = ripple * (-(-items // busy)) * work / min(1.0, vcpus / busy)
    cold = key not in _seen
    _seen.add(key)
    request_id = str(uuid.UUID(int=(hash(key) & ((1 << 64) - 1)) << 32 | n))
    status = ""
    error = None
    used = min(mem, 40 + workers * 20)
    if mem < min_mem:
        status = "\tStatus: error\tError Type: Runtime.OutOfMemory"
        error = {"errorType": "Runtime.OutOfMemory", "errorMessage": "out of memory"}
        used = mem
        duration = min(duration, 50.0)
    elif duration > fn.timeout * 1000.0:
        status = "\tStatus: timeout"
        error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"}
        duration = fn.timeout * 1000.0
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {mem} MB\tMax Memory Used: {used} MB"
    )
    if cold:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    line += status
    tail = f"START RequestId: {request_id} Version: {fn.version}\nEND RequestId: {request_id}\n{line}\n"
    return tail, error


_plain_invoke = LambdaSimpleBackend.invoke


def _invoke(self, function_name, qualifier, body, headers, response_headers):
    fn = self.get_function(function_name, qualifier)
    decision = (fn.environment_vars or {}).get("FAASTUNE_TEST_DECISION")
    if decision is not None:
        # A stand-in for the faastune-configurator handler: the same decision for every step.
        return decision.encode()
    binary = (fn.environment_vars or {}).get("FAASTUNE_TEST_CONFIGURATOR_BIN")
    if binary is not None:
        return _configurator(binary, fn.environment_vars, body, response_headers)
    workers = int((fn.environment_vars or {}).get("FAASTUNE_WORKERS", "1"))
    try:
        event = json.loads(body or "{}")
        items = len(event["items"]) if isinstance(event, dict) and isinstance(event.get("items"), list) else 1
    except ValueError:
        items = 1
    tail, error = _report(fn, workers, max(1, items))
    response_headers["x-amz-log-result"] = base64.b64encode(tail.encode()).decode()
    if error is not None:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(error).encode()
    return _plain_invoke(self, function_name, qualifier, body, headers, response_headers)


def _configurator(binary, variables, body, response_headers):
    """Runs the configurator binary on one event, as one Lambda invocation."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: v for k, v in variables.items() if k != "FAASTUNE_TEST_CONFIGURATOR_BIN"})
    data = body if isinstance(body, bytes) else (body or "{}").encode()
    p = subprocess.run([binary, "--event", "-"], input=data, capture_output=True, env=env, timeout=60)
    if p.returncode == 0:
        return p.stdout.strip()
    # stderr: "faastune-configurator: faastune.<kind>: <message>"
    text = p.stderr.decode(errors="replace").strip().splitlines()
    last = text[-1] if text else "no output"
    parts = last.split(": ", 2)
    if len(parts) == 3 and parts[1].startswith("faastune."):
        error = {"errorType": parts[1], "errorMessage": parts[2]}
    else:
        error = {"errorType": "Runtime.ExitError", "errorMessage": last}
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(error).encode()


LambdaSimpleBackend.invoke = _invoke

# moto 5.2.6 reads Invoke's qualifier as `qualifier`, but the API (and every SDK) sends `Qualifier`:
# without this, an invocation of an alias or version runs $LATEST.
_plain_get_param = LambdaResponse._get_param


def _get_param(self, name, if_none=None):
    value = _plain_get_param(self, name, if_none)
    if name == "qualifier" and value is None:
        value = self.querystring.get("Qualifier", [None])[0]
    return value


LambdaResponse._get_param = _get_param


def _zip():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--enforce-auth", action="store_true")
    args = ap.parse_args()
    with open(args.fixture) as f:
        fixture = json.load(f)
    port = args.port
    if port == 0:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    kw = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam = boto3.client("iam", **kw)
    role = iam.create_role(
        RoleName="faastune-test",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    lam = boto3.client("lambda", **kw)
    for fn in fixture.get("functions", []):
        lam.create_function(
            FunctionName=fn["name"],
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": _zip()},
            MemorySize=fn.get("memory", 128),
            Timeout=fn.get("timeout", 3),
            Architectures=[fn.get("arch", "x86_64")],
            Environment={"Variables": fn.get("env", {})},
        )
    sfn = boto3.client("stepfunctions", **kw)
    machines = {}
    for sm in fixture.get("state_machines", []):
        text = json.dumps(sm["definition"]).replace("${ACCOUNT}", ACCOUNT).replace("${REGION}", REGION)
        machines[sm["name"]] = sfn.create_state_machine(
            name=sm["name"], definition=text, roleArn=role
        )["stateMachineArn"]
    users = {}
    for u in fixture.get("users", []):
        iam.create_user(UserName=u["name"])
        iam.put_user_policy(
            UserName=u["name"], PolicyName="faastune-test", PolicyDocument=json.dumps(u["policy"])
        )
        k = iam.create_access_key(UserName=u["name"])["AccessKey"]
        users[u["name"]] = {"key": k["AccessKeyId"], "secret": k["SecretAccessKey"]}
    if args.enforce_auth:
        # moto 5.2.6 computes a SigV4 signature for Lambda's REST paths that differs from every SDK's
        # (boto3's too), so signatures are not checked; the access key must still exist and the user's
        # IAM policy must allow each action, which is what the tests exercise.
        from moto.iam.access_control import IAMRequestBase

        IAMRequestBase.check_signature = lambda self: None
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    print(json.dumps({"endpoint": endpoint, "state_machines": machines, "users": users}), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
