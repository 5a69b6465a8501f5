"""Backup and restore, tried for real (docs/operations.md): copy the database the way operations
would, then run ``verify_ledger`` against the copy in a separate process.

- SQLite: the sqlite3 online backup API (what ``sqlite3 db.sqlite3 ".backup copy.sqlite3"`` uses).
- PostgreSQL: ``pg_dump -Fc`` and ``pg_restore`` into a new database (skipped if the tools are missing).
A tampered copy must fail the check, so the check is not vacuous.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from clients.importer import import_workbook
from ledger.models import JournalEntry, Posting
from tests.clients.workbooks import base_sheets, workbook_bytes

ROOT = Path(settings.BASE_DIR)


def verify_against(database_url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=database_url, ATLAS_ENV="dev", DJANGO_SETTINGS_MODULE="atlas.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "verify_ledger"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def booked(db):
    result = import_workbook(workbook_bytes(base_sheets()))
    assert result.ok, result.errors
    entries, postings = JournalEntry.objects.count(), Posting.objects.count()
    assert entries == 7
    return entries, postings


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite backup: this run uses another database")
@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_copy_verifies(booked, tmp_path):
    entries, postings = booked
    copy = tmp_path / "backup.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(copy)
    with target:
        connection.connection.backup(target)
    target.close()

    run = verify_against(f"sqlite:///{copy}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f"OK: {entries} entries, {postings} postings")

    # Tamper with the copy: a balance that no longer equals its postings must be caught.
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE ledger_account SET balance = balance + 1 WHERE id = (SELECT MIN(id) FROM ledger_account)")
    run = verify_against(f"sqlite:///{copy}")
    assert run.returncode == 1 and "VIOLATION" in run.stdout and "FAILED: " in run.stdout


def _pg_url(name: str) -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL dump/restore: this run uses SQLite")
@pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")), reason="pg_dump/pg_restore missing")
@pytest.mark.django_db(transaction=True)
def test_postgres_dump_and_restore_verifies(booked, tmp_path):
    entries, postings = booked
    source = connection.settings_dict["NAME"]
    restored = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "atlas.dump"
    env = {**os.environ, "PGPASSWORD": connection.settings_dict.get("PASSWORD") or ""}
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), "--dbname", _pg_url(source)], check=True, env=env, timeout=120)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _pg_url(restored), str(dump)],
            check=True,
            env=env,
            timeout=120,
        )
        run = verify_against(_pg_url(restored))
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.startswith(f"OK: {entries} entries, {postings} postings")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
