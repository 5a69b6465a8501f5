"""The benchmark harness on a tiny workbook, so it cannot rot (the real run is ``make bench``).

Runs ``python -m bench.run --smoke`` on SQLite in a temporary directory and checks that every
measurement the issue asks for is present and consistent with the data it measured. No timing
asserts: only the figures that do not depend on the machine.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]


def test_bench_smoke_writes_every_measurement(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # always SQLite files in tmp_path
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads((tmp_path / "results.json").read_text())

    # import: the rows counted by the import = the data rows of the workbook (read independently here)
    (book,) = tmp_path.glob("demo-*.xlsx")
    wb = load_workbook(book, read_only=True)
    data_rows = sum(
        max(0, sum(1 for row in ws.iter_rows(values_only=True) if any(v is not None for v in row)) - 1)
        for ws in wb.worksheets
    )
    wb.close()
    imp = r["import"]
    assert imp["rows"] == data_rows
    for key in ("seconds", "rows_per_s", "raw_openpyxl_rows_per_s", "ratio_to_raw"):
        assert imp[key] > 0
    assert imp["ratio_to_raw"] == imp["rows_per_s"] / imp["raw_openpyxl_rows_per_s"]
    assert imp["peak_rss_mb"]["S"] > 20  # a Django process: tens of MB at least, read from the child's rusage

    # ledger: every booked entry has at least two postings
    led = r["ledger"]
    assert led["postings"] >= 2 * imp["by_size"]["S"]["entries"] > 0
    assert led["ratio_to_raw"] == led["postings_per_s"] / led["raw_insert_rows_per_s"]

    # pages: every page answered 200 (the child exits otherwise) and ran queries
    assert set(r["pages"]) == {
        "/",
        "/clients/",
        "drilldown",
        "/payouts/",
        "/risk/",
        "/portfolio/",
        "/ledger/",
        "statement",
    }
    for page in r["pages"].values():
        assert page["S"]["queries"] > 0
        assert page["S"]["p95_ms"] >= page["S"]["median_ms"] > 0

    # payouts: every payout of the batch was handled by the execution
    pay = r["payouts"]
    assert pay["batch_size"] == min(5, r["pages_meta"]["S"]["clients"])  # one payout per client at most
    assert pay["executed"] + pay["blocked"] == pay["batch_size"]
    assert pay["per_s"] > 0

    assert r["projection"]["loans"] == 50 and r["projection"]["months"] == 60
    checks = {c["check"]: c for c in r["checks"]}
    assert checks["projection seconds"]["pass"] == (r["projection"]["seconds"] <= 3)
    assert "PASS" in done.stdout and "results in" in done.stdout
