"""``make bench``: build S and L from the demo generator, measure, print PASS/FAIL, write results.json.

    python -m bench.run                      # S = 100 clients, L = 2,000 clients, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python -m bench.run   # PostgreSQL
    python -m bench.run --smoke              # a few clients, S only: the test suite's smoke run

Workbooks are generated once and cached under ``bench/`` (``bench/demo-<clients>-<seed>.xlsx``,
git-ignored). Each size gets a fresh database: ``bench/<label>.sqlite3`` on SQLite, or
``<dbname>_<label>`` next to the ``DATABASE_URL`` database on PostgreSQL. Every measurement that
needs Django runs in a child process (:mod:`bench.child`), so the import's peak memory is read
per process with ``os.wait4`` (the child's ``RUSAGE_CHILDREN`` figure, for that child alone).
Times are wall-clock on a possibly shared machine: the targets are ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"  # workbooks and SQLite files (``--dir`` moves them, e.g. for the smoke test)
PAGES = ["/", "/clients/", "drilldown", "/payouts/", "/risk/", "/portfolio/", "/ledger/", "statement"]
WIDE_PAGES = {"/", "/risk/", "/portfolio/"}  # portfolio-wide pages: ratio_L_S ≤ 3; the others ≤ 1.5


# --------------------------------------------------------------------------- databases and children


def database_url(label: str) -> str:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        head, _, name = base.rpartition("/")
        name = name.split("?")[0] or "bench"
        db = f"{name}_{label.lower()}"
        _recreate_pg(head, db)
        return f"{head}/{db}"
    path = BENCH / f"{label}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _recreate_pg(head: str, db: str) -> None:
    import psycopg

    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')


def child(url: str, *args: str) -> tuple[dict, float]:
    """Run ``bench.child`` with ``DATABASE_URL=url``; return its JSON and its peak RSS in MB."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.child", *args], cwd=ROOT, env=env, stdout=out_file, stderr=err_file
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (ru_maxrss: peak RSS, kB on Linux)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if code != 0:
        raise SystemExit(f"bench.child {' '.join(args)} failed ({code}):\n{err[-4000:]}")
    lines = [line for line in out.strip().splitlines() if line.strip()]
    peak = usage.ru_maxrss / 1024
    return json.loads(lines[-1]), peak


def workbook(clients: int, seed: int = 7) -> Path:
    path = BENCH / f"demo-{clients}-{seed}.xlsx"
    if not path.exists():
        tmp = path.with_suffix(".tmp.xlsx")
        sys.path.insert(0, str(ROOT))
        from clients.demo import make_demo_workbook

        make_demo_workbook(tmp, clients=clients, seed=seed)
        tmp.rename(path)
    return path


def raw_openpyxl(path: Path) -> dict:
    """Bare openpyxl read-only iteration over every sheet of the same file."""
    from openpyxl import load_workbook

    started = time.perf_counter()
    wb = load_workbook(path, read_only=True, data_only=True)
    rows = 0
    for ws in wb.worksheets:
        for _ in ws.iter_rows(values_only=True):
            rows += 1
    wb.close()
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def projection(loans: int = 10_000, months: int = 60) -> dict:
    """``loans`` loans × ``months`` months scheduled and aggregated by portfolio.projection.project."""
    import datetime as dt
    import random
    from decimal import Decimal

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
    import django

    django.setup()
    from portfolio.projection import LoanInput, project
    from portfolio.schedule import DAY_COUNTS, METHODS

    rng = random.Random(7)
    as_of = dt.date(2026, 11, 1)
    inputs = [
        LoanInput(
            key=f"LN{i:05d}",
            client_key=f"CL{i % 2000:05d}",
            currency=rng.choice(["EUR", "EUR", "GBP", "USD"]),
            principal=Decimal(rng.randint(100_000, 500_000_000)) / 100,
            annual_rate=Decimal(rng.randint(0, 200_000)) / 1_000_000,
            start_date=as_of - dt.timedelta(days=rng.randint(0, 27)),
            term_months=months,
            method=rng.choice(METHODS),
            day_count=rng.choice(DAY_COUNTS),
        )
        for i in range(loans)
    ]
    started = time.perf_counter()
    result = project(inputs, [], as_of=as_of, months=months)
    seconds = time.perf_counter() - started
    return {"loans": loans, "months": months, "seconds": seconds, "result": type(result).__name__}


# --------------------------------------------------------------------------- the run


def measure(sizes: dict[str, int], *, requests: int, payout_batch: int, projection_loans: int) -> dict:
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_start": os.getloadavg(),
            "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
        },
        "sizes": sizes,
    }
    imports, pages, urls = {}, {}, {}
    for label, clients in sizes.items():
        path = workbook(clients)
        log(f"[{label}] {clients} clients: {path.name}")
        url = database_url(label)
        urls[label] = url
        child(url, "migrate")
        data, peak = child(url, "import", str(path))
        data["peak_rss_mb"] = peak
        imports[label] = data
        log(f"[{label}] import: {data['rows']:,} rows in {data['seconds']:.1f} s, peak {peak:.0f} MB")
        pages[label], _ = child(url, "pages", str(requests), "10000", "1" if requests < 5 else "3")
        log(f"[{label}] pages measured")
    big = list(sizes)[-1]
    raw = raw_openpyxl(workbook(sizes[big]))
    log(f"[{big}] bare openpyxl: {raw['rows']:,} rows in {raw['seconds']:.1f} s")
    big_import = imports[big]
    results["import"] = {
        "size": big,
        "rows": big_import["rows"],
        "seconds": big_import["seconds"],
        "cpu_seconds": big_import["cpu_seconds"],
        "rows_per_s": big_import["rows"] / big_import["seconds"],
        "raw_openpyxl_rows": raw["rows"],
        "raw_openpyxl_seconds": raw["seconds"],
        "raw_openpyxl_rows_per_s": raw["rows_per_s"],
        "ratio_to_raw": (big_import["rows"] / big_import["seconds"]) / raw["rows_per_s"],
        "peak_rss_mb": {label: imports[label]["peak_rss_mb"] for label in sizes},
        "by_size": imports,
    }
    postings = big_import["postings"]
    raw_insert, _ = child(urls[big], "raw_insert", str(postings))
    booked_per_s = postings / big_import["booking_seconds"]
    results["ledger"] = {
        "postings": postings,
        "booking_seconds": big_import["booking_seconds"],
        "postings_per_s": booked_per_s,
        "raw_insert_rows_per_s": raw_insert["rows_per_s"],
        "raw_insert_seconds": raw_insert["seconds"],
        "ratio_to_raw": booked_per_s / raw_insert["rows_per_s"],
    }
    log(f"[{big}] ledger: {booked_per_s:,.0f} postings/s booked, raw insert {raw_insert['rows_per_s']:,.0f} rows/s")
    small = list(sizes)[0]
    results["pages"] = {}
    for page in PAGES:
        entry = {label: {k: pages[label][page][k] for k in ("median_ms", "p95_ms", "queries")} for label in sizes}
        entry["url"] = {label: pages[label][page]["url"] for label in sizes}
        entry["ratio_L_S"] = pages[big][page]["median_ms"] / pages[small][page]["median_ms"]
        results["pages"][page] = entry
    results["pages_meta"] = {label: pages[label]["_meta"] for label in sizes}
    results["payouts"], _ = child(urls[big], "payouts", str(payout_batch))
    log(f"[{big}] payouts: {results['payouts']['batch_size']} in {results['payouts']['seconds']:.1f} s")
    results["projection"] = projection(projection_loans, 60)
    results["machine"]["load_avg_end"] = os.getloadavg()
    results["checks"] = checks(results, sizes)
    return results


def checks(r: dict, sizes: dict) -> list[dict]:
    labels = list(sizes)
    small, big = labels[0], labels[-1]
    out = []

    def check(name, value, target, ok):
        out.append({"check": name, "value": value, "target": target, "pass": bool(ok)})

    for page, p in r["pages"].items():
        qs, ql = p[small]["queries"], p[big]["queries"]
        check(f"pages {page} queries S = L ≤ 25", f"{qs} / {ql}", "equal, ≤ 25", qs == ql and ql <= 25)
        check(f"pages {page} median at {big}", f"{p[big]['median_ms']:.0f} ms", "≤ 200 ms", p[big]["median_ms"] <= 200)
        limit = 3 if page in WIDE_PAGES else 1.5
        check(f"pages {page} ratio_L_S", f"{p['ratio_L_S']:.2f}", f"≤ {limit}", p["ratio_L_S"] <= limit)
    imp = r["import"]
    check("import ratio_to_raw", f"{imp['ratio_to_raw']:.2f}", "≥ 1.0", imp["ratio_to_raw"] >= 1.0)
    rss = imp["peak_rss_mb"]
    ratio = rss[big] / rss[small]
    check("import peak_rss_mb L/S", f"{ratio:.2f} ({rss[small]:.0f} → {rss[big]:.0f} MB)", "≤ 2", ratio <= 2)
    led = r["ledger"]
    check("ledger ratio_to_raw", f"{led['ratio_to_raw']:.2f}", "≥ 0.25", led["ratio_to_raw"] >= 0.25)
    pay = r["payouts"]
    check("payouts per_s", f"{pay['per_s']:.0f}", "≥ 200", pay["per_s"] >= 200)
    proj = r["projection"]
    check("projection seconds", f"{proj['seconds']:.2f}", "≤ 3", proj["seconds"] <= 3)
    return out


def table(r: dict) -> str:
    sizes = list(r["sizes"])
    small, big = sizes[0], sizes[-1]
    lines = [
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}, {r['machine']['database']}, "
        f"load {r['machine']['load_avg_start'][0]:.1f} → {r['machine']['load_avg_end'][0]:.1f}",
        "Sizes: " + ", ".join(f"{k} = {v} clients" for k, v in r["sizes"].items()),
        "",
        f"| page | {small} median ms | {small} p95 | {small} queries | {big} median ms | {big} p95 | "
        f"{big} queries | ratio L/S |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page, p in r["pages"].items():
        lines.append(
            f"| {page} | {p[small]['median_ms']:.1f} | {p[small]['p95_ms']:.1f} | {p[small]['queries']} | "
            f"{p[big]['median_ms']:.1f} | {p[big]['p95_ms']:.1f} | {p[big]['queries']} | {p['ratio_L_S']:.2f} |"
        )
    imp, led, pay, proj = r["import"], r["ledger"], r["payouts"], r["projection"]
    lines += [
        "",
        f"import ({big}): {imp['rows']:,} rows in {imp['seconds']:.1f} s = {imp['rows_per_s']:,.0f} rows/s "
        f"(CPU {imp['cpu_seconds']:.1f} s); bare openpyxl {imp['raw_openpyxl_rows_per_s']:,.0f} rows/s; "
        f"ratio {imp['ratio_to_raw']:.2f}; peak RSS "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in imp["peak_rss_mb"].items()),
        f"ledger: {led['postings']:,} postings booked at {led['postings_per_s']:,.0f}/s; raw insert "
        f"{led['raw_insert_rows_per_s']:,.0f} rows/s; ratio {led['ratio_to_raw']:.2f}",
        f"payouts: {pay['batch_size']} in {pay['seconds']:.2f} s = {pay['per_s']:.0f}/s "
        f"(executed {pay['executed']}, blocked {pay['blocked']}, SEPA {pay['sepa_count']})",
        f"projection: {proj['loans']:,} loans × {proj['months']} months in {proj['seconds']:.2f} s",
        "",
        "| check | value | target | result |",
        "|---|---|---|---|",
    ]
    for c in r["checks"]:
        lines.append(f"| {c['check']} | {c['value']} | {c['target']} | {'PASS' if c['pass'] else 'FAIL'} |")
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    global BENCH
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100, help="clients in S")
    parser.add_argument("--large", type=int, default=2000, help="clients in L")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--payouts", type=int, default=1000, help="payouts in the batch")
    parser.add_argument("--loans", type=int, default=10_000, help="loans in the projection")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, S only: proves the harness runs")
    parser.add_argument("--out", default=None, help="default: <dir>/results.json")
    parser.add_argument("--dir", default=str(BENCH), help="where workbooks and SQLite files go")
    args = parser.parse_args(argv)
    BENCH = Path(args.dir)
    BENCH.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        sizes = {"S": 3}
        args.requests, args.payouts, args.loans = 2, 5, 50
    else:
        sizes = {"S": args.small, "L": args.large}
    started = time.perf_counter()
    results = measure(sizes, requests=args.requests, payout_batch=args.payouts, projection_loans=args.loans)
    results["total_seconds"] = time.perf_counter() - started
    args.out = args.out or str(BENCH / "results.json")
    Path(args.out).write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    failed = [c for c in results["checks"] if not c["pass"]]
    print(f"\n{len(results['checks']) - len(failed)} PASS, {len(failed)} FAIL; results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
