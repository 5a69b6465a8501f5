"""Background tasks (django-tasks): the workbook import runs in the worker, not the request.

The upload page creates an :class:`ImportBatch` (file stored under
``MEDIA_ROOT/imports/<sha256>.xlsx``) and enqueues :func:`run_import`; the page polls the
batch's status endpoint. Progress during the atomic write phase is not visible through the
database (the transaction is not committed yet), so it is written to a small JSON file next to
the upload (``<batch pk>.progress.json``), and the final state to the batch row.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django_tasks import task

from clients.models import ImportBatch

IMPORT_DIR = "imports"


def upload_path(sha256: str) -> Path:
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR / f"{sha256}.xlsx"


def progress_path(batch_pk: int) -> Path:
    return Path(settings.MEDIA_ROOT) / IMPORT_DIR / f"{batch_pk}.progress.json"


def read_progress(batch: ImportBatch) -> dict:
    """The live progress of a batch: the progress file while it runs, the row once finished."""
    state = {
        "status": batch.status,
        "phase": batch.phase,
        "done": batch.progress_done,
        "total": batch.progress_total,
    }
    if batch.status in (ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING):
        with contextlib.suppress(OSError, ValueError):
            state.update(json.loads(progress_path(batch.pk).read_text()))
    return state


class _FileProgress:
    def __init__(self, batch_pk: int):
        self.path = progress_path(batch_pk)
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int):
        now = time.monotonic()
        if now - self.last < 0.3 and done < total:
            return
        self.last = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"phase": phase, "done": done, "total": total}))
        os.replace(tmp, self.path)


@task()
def run_import(batch_pk: int, dry_run: bool) -> dict:
    from clients.importer import import_workbook

    batch = ImportBatch.objects.get(pk=batch_pk)
    batch.status, batch.phase = ImportBatch.Status.RUNNING, "reading"
    batch.save(update_fields=["status", "phase"])
    user = get_user_model().objects.filter(pk=batch.user_id).first()
    progress = _FileProgress(batch.pk)
    try:
        result = import_workbook(
            str(upload_path(batch.sha256)),
            user=user,
            dry_run=dry_run,
            progress=progress,
            batch=batch,
            file_name=batch.file_name,
        )
    except Exception as exc:  # a bug must still end the batch, not leave it "running" forever
        ImportBatch.objects.filter(pk=batch_pk).update(
            status=ImportBatch.Status.FAILED, phase="failed", errors=[f"Workbook: import crashed ({exc})"]
        )
        raise
    finally:
        progress_path(batch_pk).unlink(missing_ok=True)
    ImportBatch.objects.filter(pk=batch_pk).update(progress_done=result.rows, progress_total=result.rows)
    return {"ok": result.ok, "errors": len(result.errors)}
