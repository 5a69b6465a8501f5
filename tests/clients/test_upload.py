"""The upload page: refuse bad files, dry run in the background, every error shown, confirm, result."""

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from clients.models import ImportBatch, Transaction
from tests.clients.test_import import counts
from tests.clients.workbooks import base_sheets, set_cell, workbook_bytes

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, data: bytes, name="book.xlsx"):
    return client.post(reverse("imports:upload"), {"workbook": SimpleUploadedFile(name, data)})


def test_only_ops_may_use_it(client_as):
    for role in ("credit", "risk", "finance"):
        assert client_as(role).get(reverse("imports:upload")).status_code == 403
    assert client_as("ops").get(reverse("imports:upload")).status_code == 200


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"a,b\n1,2\n", "book.xlsx", "This file cannot be imported: the file is not an .xlsx workbook"),
        (workbook_bytes(base_sheets()), "book.xlsm", "Macro-enabled workbooks (.xlsm) are refused"),
        (workbook_bytes(base_sheets()), "book.csv", "Upload an .xlsx workbook."),
    ],
)
def test_refuses_files_by_content_and_name(client_as, data, name, message):
    before = counts()
    response = upload(client_as("ops"), data, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert counts() == before


def test_refuses_macro_content_even_when_named_xlsx(client_as):
    src = zipfile.ZipFile(io.BytesIO(workbook_bytes(base_sheets())))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n in src.namelist():
            z.writestr(n, src.read(n))
        z.writestr("xl/vbaProject.bin", b"macro")
    response = upload(client_as("ops"), out.getvalue())
    assert "macro-enabled workbooks (.xlsm) are refused" in response.content.decode()


def test_refuses_files_over_the_size_limit(client_as, settings):
    settings.ATLAS_MAX_UPLOAD_BYTES = 100
    response = upload(client_as("ops"), workbook_bytes(base_sheets()))
    assert "the limit is 100 bytes" in response.content.decode()
    assert ImportBatch.objects.count() == 0


@override_settings(TASKS=IMMEDIATE)
def test_dry_run_then_confirm(client_as, users, media, django_capture_on_commit_callbacks):
    ops = client_as("ops")
    data = workbook_bytes(base_sheets())
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(ops, data)
    dry = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:detail", args=[dry.pk])
    import hashlib

    assert (media / "imports" / f"{hashlib.sha256(data).hexdigest()}.xlsx").read_bytes() == data
    assert dry.dry_run and dry.status == "done" and dry.user == users["ops"]
    assert Transaction.objects.count() == 0  # the dry run wrote nothing
    page = ops.get(response["Location"]).content.decode()
    assert "No problems found" in page and "Confirm: import book.xlsx" in page
    assert ">7</td>" in page  # 7 new transactions

    status = json.loads(ops.get(reverse("imports:status", args=[dry.pk])).content)
    assert status["finished"] is True and status["status"] == "done"

    assert ops.get(reverse("imports:confirm", args=[dry.pk])).status_code == 405  # POST only
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post(reverse("imports:confirm", args=[dry.pk]))
    real = ImportBatch.objects.get(dry_run=False)
    assert response["Location"] == reverse("imports:detail", args=[real.pk])
    assert real.status == "done" and Transaction.objects.count() == 7
    assert Transaction.objects.get(txn_id="T1").import_batch == real
    page = ops.get(response["Location"]).content.decode()
    assert "Imported: 7 journal entries booked." in page
    # confirming twice does not import twice
    ops.post(reverse("imports:confirm", args=[dry.pk]))
    assert ImportBatch.objects.filter(dry_run=False).count() == 1


@override_settings(TASKS=IMMEDIATE)
def test_dry_run_shows_every_error(client_as, django_capture_on_commit_callbacks):
    sheets = base_sheets()
    set_cell(sheets, "Transactions", 3, "amount", "abc")
    set_cell(sheets, "Transactions", 8, "amount", 987.66)  # caught by phase 1? no: only by the ledger
    set_cell(sheets, "Clients", 3, "credit_limit", 0)
    ops = client_as("ops")
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(ops, workbook_bytes(sheets))
    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    page = ops.get(response["Location"]).content.decode()
    assert "Transactions!E3: amount &#x27;abc&#x27; is not a number" in page
    assert "Clients!F3: credit_limit &#x27;0&#x27; must be greater than zero" in page
    assert "Confirm" not in page
    assert ops.post(reverse("imports:confirm", args=[batch.pk])).status_code == 302
    assert ImportBatch.objects.count() == 1
    before.pop("ImportBatch")
    after = counts()
    after.pop("ImportBatch")
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_runs_in_the_db_worker(client_as):
    """With the configured database backend: enqueued, pending until the worker runs it.

    Transactional: the worker closes its database connection when it is done, which would end the
    test's wrapping transaction on PostgreSQL."""
    ops = client_as("ops")
    response = upload(ops, workbook_bytes(base_sheets()))
    batch = ImportBatch.objects.get()
    assert batch.status == "pending"
    page = ops.get(response["Location"]).content.decode()
    assert 'id="import-progress"' in page and "js/import.js" in page
    status = json.loads(ops.get(reverse("imports:status", args=[batch.pk])).content)
    assert status["finished"] is False
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    batch.refresh_from_db()
    assert batch.status == "done" and batch.summary["counts"]["Transactions"]["new"] == 7
