"""Malformed workbooks (issue 10, Bad input): Hypothesis builds well over 300 of them by mutating a small
valid workbook (see ``workbook_fuzz.py``). Each is refused with ``Sheet!Cell: message`` lines (or one
``Workbook: reason`` line), nothing is written, and no traceback or HTTP 500 appears, from the service,
the management command and the upload page.

Example counts: 70 structural + 110 one-cell + 50 several-cells + 50 whole-file (service) + 30 through
the command + 25 through the upload page = 335.
"""

from __future__ import annotations

import re
import tempfile
from html import unescape
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas.models import AuditEvent
from clients.importer import import_workbook
from clients.importer.reader import WorkbookError, check_xlsx
from clients.models import ImportBatch
from ledger.models import Account
from tests.clients.test_import import MODELS
from tests.clients.workbooks import base_sheets, workbook_bytes
from tests.factories import UserFactory
from tests.hardening.workbook_fuzz import BASE_BYTES, bad_cell, bad_file, several_bad_cells, structural, zip_bomb

pytestmark = pytest.mark.django_db

LINE = re.compile(
    r"^(?:(?:Partners|Clients|Debtors|Receivables|Transactions|Loans|Payouts)![A-Z]{1,3}\d+|Workbook): \S.*$"
)
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def written() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (*MODELS, ImportBatch, AuditEvent, Account)}


def assert_refused(case, errors: list[str], *, before: dict[str, int]):
    assert errors, f"accepted a malformed workbook: {case.what}"
    for line in errors:
        assert "\n" not in line and "Traceback" not in line, line
        assert LINE.match(line), f"not a Sheet!Cell or Workbook line: {line!r} ({case.what})"
    assert any(line.startswith(tuple(case.where)) for line in errors), (
        f"{case.what}: no error at {sorted(case.where)}; got {errors[:5]}"
    )
    assert written() == before, f"{case.what}: something was written"


def row_of(address: str) -> tuple[str, str]:
    """``Clients!F12`` → ``("Clients", "12")``."""
    sheet, ref = address.split("!", 1)
    return sheet, ref.lstrip("$ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def check_service(case):
    before = written()
    result = import_workbook(case.data())
    assert not result.ok
    assert_refused(case, result.errors, before=before)
    return result


def test_the_base_workbook_is_valid_and_the_oracle_can_fail():
    """The mutations start from a workbook that imports: so each refusal is caused by the mutation."""
    result = import_workbook(BASE_BYTES, dry_run=True)
    assert result.ok, result.errors
    assert not LINE.match("Traceback (most recent call last):")
    assert LINE.match("Transactions!E17: amount 'abc' is not a number")


@settings(FUZZ, max_examples=70)
@given(case=structural())
def test_missing_renamed_or_doubled_sheets_and_columns(case):
    check_service(case)


@settings(FUZZ, max_examples=110)
@given(case=bad_cell())
def test_one_bad_cell(case):
    result = check_service(case)
    assert not any(line.startswith("Workbook:") for line in result.errors), result.errors


@settings(FUZZ, max_examples=50)
@given(case=several_bad_cells())
def test_every_bad_cell_is_reported(case):
    result = check_service(case)
    reported = {line.split(":", 1)[0] for line in result.errors}
    reported_rows = {row_of(c) for c in reported}
    # Every mutated cell is named, or at least its row (a row-level problem, e.g. an unknown client on the
    # row, may stand for the cells after it).
    missing = {c for c in case.where if c not in reported and row_of(c) not in reported_rows}
    assert not missing, f"{case.what}: not reported {missing}; got {result.errors[:8]}"


@settings(FUZZ, max_examples=50)
@given(case=bad_file())
def test_files_that_are_not_workbooks(case):
    result = check_service(case)
    assert len(result.errors) == 1 and result.errors[0].startswith("Workbook: ")


@settings(FUZZ, max_examples=30)
@given(case=st.one_of(bad_cell(), structural(), bad_file()))
def test_the_command_refuses_and_exits_non_zero(case):
    before = written()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        path.write_bytes(case.data())
        out, err = StringIO(), StringIO()
        with pytest.raises(CommandError, match=r"problem\(s\) in .*nothing was imported"):
            call_command("import_workbook", str(path), stdout=out, stderr=err)
    assert_refused(case, [line for line in err.getvalue().splitlines() if line.strip()], before=before)


IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def ops_client(client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(UserFactory(username="ops-fuzz", roles=["ops"]))
    return client


@settings(FUZZ, max_examples=25)
@given(case=st.one_of(bad_cell(), structural(), bad_file()), name=st.sampled_from(["book.xlsx", "Book.XLSX"]))
def test_the_upload_page_refuses_without_a_500(ops_client, django_capture_on_commit_callbacks, case, name):
    before = written()
    batches = ImportBatch.objects.count()
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post("/import/", {"workbook": SimpleUploadedFile(name, case.data())})
    if response.status_code == 302:  # accepted for a dry run, which ran when the request's transaction committed
        response = ops_client.get(response.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Traceback" not in html
    if ImportBatch.objects.count() == batches:  # refused by the form: a message beside the field
        field_errors = response.context["form"].errors.get("workbook")
        assert field_errors, f"{case.what}: refused without a message on the field"
        assert str(field_errors[0]).replace("'", "&#x27;").replace('"', "&quot;")[:40] in html
    else:  # the background dry run found the problems: the batch failed, listing them on its page
        batch = ImportBatch.objects.latest("pk")
        assert batch.status == ImportBatch.Status.FAILED and batch.dry_run
        assert_refused(case, batch.errors, before=before | {"ImportBatch": batches + 1})
        assert batch.errors[0].split(":", 1)[1].strip()[:30] in unescape(html)
    non_batch = {k: v for k, v in written().items() if k != "ImportBatch"}
    assert non_batch == {k: v for k, v in before.items() if k != "ImportBatch"}


def test_a_zip_bomb_is_refused_before_it_is_unpacked_in_memory():
    bomb = zip_bomb(300 * 1024 * 1024)  # 300 MB of one letter, a few hundred KB packed
    assert len(bomb) < 1024 * 1024
    with pytest.raises(WorkbookError, match="unpacks to more than 256 MB"):
        check_xlsx(bomb)
    before = written()
    result = import_workbook(bomb)
    assert result.errors == ["Workbook: the workbook unpacks to more than 256 MB; it is refused"]
    assert written() == before


def test_a_bomb_under_a_smaller_limit_and_a_normal_workbook_under_it(settings):
    settings.ATLAS_MAX_UNPACKED_BYTES = 2 * 1024 * 1024
    with pytest.raises(WorkbookError, match="more than 2 MB"):
        check_xlsx(zip_bomb(3 * 1024 * 1024))
    check_xlsx(BASE_BYTES)  # the real workbook is far below


def test_an_oversized_upload_and_a_macro_workbook_are_refused_beside_the_field(ops_client, settings):
    settings.ATLAS_MAX_UPLOAD_BYTES = 10_000
    big = workbook_bytes(base_sheets() | {"Notes": [["text"]] + [["x" * 200] for _ in range(2000)]})
    assert len(big) > 10_000
    response = ops_client.post("/import/", {"workbook": SimpleUploadedFile("big.xlsx", big)})
    assert response.status_code == 200
    assert "the limit is 10,000 bytes" in response.content.decode()
    response = ops_client.post("/import/", {"workbook": SimpleUploadedFile("book.xlsm", BASE_BYTES)})
    assert "Macro-enabled workbooks (.xlsm) are refused" in response.content.decode()
    assert ImportBatch.objects.count() == 0
