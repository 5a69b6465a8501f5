"""Background execution of a payout batch (django-tasks), with progress.

``payouts.services.batch_enqueue`` marks the batch ``executing`` and enqueues :func:`execute_batch` on commit.
The execution itself is one transaction (all or nothing), so its progress is written to a small JSON file
(``MEDIA_ROOT/payouts/<batch pk>.progress.json``) that the batch page polls; the final state is on the batch row.
If the execution fails, the batch goes back to ``draft`` with the error in its report, and nothing was booked.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django_tasks import task

from payouts.models import PayoutBatch


def progress_path(batch_pk: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "payouts" / f"{batch_pk}.progress.json"


def read_progress(batch: PayoutBatch) -> dict:
    state = {"status": batch.status, "done": None, "total": None, "error": (batch.report or {}).get("error")}
    if batch.status == PayoutBatch.Status.EXECUTING:
        with contextlib.suppress(OSError, ValueError):
            state.update(json.loads(progress_path(batch.pk).read_text()))
    return state


class FileProgress:
    def __init__(self, batch_pk: int):
        self.path = progress_path(batch_pk)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, done: int, total: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": total}))
        os.replace(tmp, self.path)


@task()
def execute_batch(batch_pk: int, actor_pk: int, execution_date: str) -> dict:
    from payouts.services import batch_execute

    batch = PayoutBatch.objects.get(pk=batch_pk)
    actor = get_user_model().objects.get(pk=actor_pk)
    try:
        batch = batch_execute(
            batch=batch,
            actor=actor,
            execution_date=datetime.date.fromisoformat(execution_date),
            progress=FileProgress(batch_pk),
        )
    except Exception as exc:  # nothing was booked (one transaction): the batch may be executed again
        PayoutBatch.objects.filter(pk=batch_pk, status=PayoutBatch.Status.EXECUTING).update(
            status=PayoutBatch.Status.DRAFT, report={"error": f"Execution failed: {exc}"}
        )
        raise
    finally:
        progress_path(batch_pk).unlink(missing_ok=True)
    return {"executed": len(batch.report.get("executed", [])), "blocked": len(batch.report.get("blocked", []))}
