"""``make loadtest``: a bounded load test on loopback against gunicorn (2 workers) and PostgreSQL.

1. (Re)creates the database ``atlas_loadtest`` (or the one in ``LOADTEST_DATABASE_URL``), migrates,
   imports ``fixtures/demo.xlsx`` and creates the demo users.
2. Starts ``gunicorn atlas.wsgi`` with 2 workers on 127.0.0.1:<port>, waits until it answers.
3. 20 virtual users (threads, each with its own session cookie) sign in through the login form, then for
   60 seconds each requests the main pages one after another (no think time), recording every status
   and latency. Any non-200 answer or network error counts as an error.
4. Prints requests, errors, throughput and p50/p95/max per page and overall; stops gunicorn (only the
   process it started); exits 1 when there was any error. ``--append-docs`` appends the result to the
   "Load test" section of ``docs/performance.md``.

Only the standard library is used for the client side (urllib, threads).
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN_LOG = os.path.join(os.environ.get("TMPDIR", "/tmp"), "atlas-loadtest-gunicorn.log")  # noqa: S108
DEMO_PASSWORD = "atlas-demo-2026"  # atlas/management/commands/create_demo_users.py
ROLES = ("ops", "credit", "risk", "finance", "admin")
PAGES = [
    "/",
    "/clients/",
    "/clients/{client}/",
    "/ledger/",
    "/payouts/",
    "/payouts/batches/",
    "/risk/",
    "/risk/reserves/",
    "/risk/alerts/",
    "/risk/limits/",
    "/portfolio/",
    "/reconciliation/",
]


def log(message: str) -> None:
    print(f"[loadtest] {message}", flush=True)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


# ------------------------------------------------------------------------------------------------ set-up


def recreate_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlparse(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"unsafe database name {name!r}")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(env: dict, *args: str) -> None:
    log("manage.py " + " ".join(args))
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def start_gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    gunicorn = Path(PY).with_name("gunicorn")
    cmd = [str(gunicorn), "atlas.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
    log(" ".join(cmd))
    log_file = open(GUNICORN_LOG, "w")  # noqa: SIM115 (kept open for the server's life)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}/accounts/login/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: {Path(GUNICORN_LOG).read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
            if r.status == 200:
                return proc
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# ------------------------------------------------------------------------------------------------ the load


class VirtualUser:
    def __init__(self, base: str, username: str):
        self.base = base
        self.username = username
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _open(self, path: str, data: dict | None = None, timeout: float = 30):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 (loopback only)
        if data is not None:
            request.add_header("Referer", self.base + path)
        return self.opener.open(request, timeout=timeout)

    def login(self) -> None:
        with self._open("/accounts/login/") as r:
            html = r.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        with self._open(
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": self.username, "password": DEMO_PASSWORD},
        ) as r:
            if "/accounts/login/" in r.geturl():
                raise SystemExit(f"login failed for {self.username}")

    def get(self, path: str) -> tuple[int, float, int]:
        started = time.perf_counter()
        try:
            with self._open(path) as r:
                body = r.read()
                status = r.status
                if "/accounts/login/" in r.geturl() and path != "/accounts/login/":
                    status = 401  # silently signed out: an error
        except urllib.error.HTTPError as exc:
            status, body = exc.code, b""
        except OSError:
            status, body = 0, b""
        return status, time.perf_counter() - started, len(body)


def run_load(base: str, users: int, seconds: float) -> dict:
    vus = [VirtualUser(base, ROLES[i % len(ROLES)]) for i in range(users)]
    log(f"signing in {users} users")
    for vu in vus:
        vu.login()
    with vus[0]._open("/clients/") as r:
        clients = sorted(set(re.findall(r'href="/clients/([A-Za-z0-9_-]+)/"', r.read().decode())))
    if not clients:
        raise SystemExit("no client links on /clients/")
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(users)

    def work(index: int, vu: VirtualUser):
        barrier.wait()
        i = index
        while time.monotonic() < stop_at:
            template = PAGES[i % len(PAGES)]
            path = template.format(client=clients[i % len(clients)])
            status, elapsed, _ = vu.get(path)
            with lock:
                latencies[template].append(elapsed)
                if status != 200:
                    errors.append((path, status))
            i += 1

    log(f"{users} users for {seconds:.0f} s over {len(PAGES)} pages ({len(clients)} clients)")
    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(i, vu), daemon=True) for i, vu in enumerate(vus)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    wall = time.monotonic() - started
    every = [x for values in latencies.values() for x in values]
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": len(every),
        "errors": len(errors),
        "error_samples": errors[:10],
        "throughput_rps": round(len(every) / wall, 1) if wall else 0,
        "p50_ms": round(1000 * statistics.median(every), 1) if every else 0,
        "p95_ms": round(1000 * percentile(every, 95), 1),
        "max_ms": round(1000 * max(every), 1) if every else 0,
        "pages": {
            page: {
                "requests": len(v),
                "p50_ms": round(1000 * statistics.median(v), 1),
                "p95_ms": round(1000 * percentile(v, 95), 1),
                "max_ms": round(1000 * max(v), 1),
            }
            for page, v in latencies.items()
            if v
        },
    }


def report(result: dict) -> str:
    lines = [
        f"{result['users']} users, {result['seconds']} s: {result['requests']:,} requests, "
        f"{result['errors']} errors, {result['throughput_rps']} req/s; "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms",
        "",
        "| page | requests | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for page, s in result["pages"].items():
        lines.append(f"| `{page}` | {s['requests']:,} | {s['p50_ms']} | {s['p95_ms']} | {s['max_ms']} |")
    return "\n".join(lines)


def append_docs(result: dict, database: str) -> None:
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n"
    marker = "\n## Load test\n"
    if marker in text:
        text = text[: text.index(marker)]
    cpu = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = (
        text.rstrip("\n")
        + "\n"
        + marker
        + f"""
`make loadtest` (`python -m loadtest.run`, see `loadtest/run.py`): PostgreSQL database `{database}` with
`fixtures/demo.xlsx` imported, gunicorn with 2 sync workers on 127.0.0.1, {result["users"]} signed-in users
(threads, one session each, roles cycled ops/credit/risk/finance/admin) requesting the main pages back to
back with no think time for 60 s. Every answer must be a 200 (a redirect to the login page or any error
fails the run). Measured on {platform.machine()}, {cpu} CPUs, Python {platform.python_version()}; client,
server and database share the machine (load average {load} when the run ended).

{report(result)}

Latency here is mostly queueing: 20 users with no think time against 2 workers keep both workers busy
all the time, so each request waits for ≈ 10 others: p50 ≈ (users / workers) × the mean service time
(throughput × p50 ≈ users). The service time of one page is what to improve (see the page timings of
the benchmark above); more workers only help with more cores. Real users pause between clicks, so this
is an upper bound for a small team.
"""
    )
    path.write_text(text)
    log(f"appended the result to {path.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOADTEST_PORT", "8765")))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--append-docs", action="store_true", help="write the result into docs/performance.md")
    parser.add_argument("--skip-setup", action="store_true", help="reuse the database as it is")
    args = parser.parse_args()
    if not 1 <= args.users <= 200 or not 1 <= args.seconds <= 600:
        raise SystemExit("bounded: 1–200 users, 1–600 s")

    url = os.environ.get("LOADTEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atlas_loadtest")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ATLAS_ENV": "dev",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": "atlas.settings",
    }
    if not args.skip_setup:
        log(f"recreating {url}")
        recreate_database(url)
        manage(env, "migrate", "--noinput")
        manage(env, "import_workbook", "fixtures/demo.xlsx")
        manage(env, "create_demo_users")
    proc = start_gunicorn(env, args.port, args.workers)
    try:
        result = run_load(f"http://127.0.0.1:{args.port}", args.users, args.seconds)
    finally:
        stop(proc)
    print(report(result))
    if result["errors"]:
        print("errors (first 10):", json.dumps(result["error_samples"]))
    if args.append_docs:
        append_docs(result, urllib.parse.urlparse(url).path.lstrip("/"))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
