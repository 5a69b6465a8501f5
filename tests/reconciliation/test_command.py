"""``manage.py import_statement``: dry run writes nothing, import is idempotent, --confirm books as a named user."""

import pytest
from django.core.management import CommandError, call_command

from reconciliation.models import Match, Statement, StatementLine
from tests.reconciliation.factories import execute_payouts, funded_client, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def statement_file(tmp_path, users):
    [payout] = execute_payouts([(funded_client(), "1500.00")], users)
    path = tmp_path / "single.xml"
    path.write_bytes(sample("single_payout.xml", E2E_1=payout.end_to_end_id))
    return path, payout


def test_dry_run_writes_nothing(statement_file, capsys):
    path, payout = statement_file
    call_command("import_statement", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run: 1 new line(s), nothing written." in out
    assert f"payout [end_to_end] end-to-end id {payout.end_to_end_id} = payout {payout.payout_id}" in out
    assert Statement.objects.count() == 0 and StatementLine.objects.count() == 0


def test_import_twice_then_confirm(statement_file, capsys):
    path, payout = statement_file
    call_command("import_statement", str(path))
    call_command("import_statement", str(path))
    out = capsys.readouterr().out
    assert "Imported single.xml: 1 line(s)." in out and "was already imported" in out
    assert StatementLine.objects.count() == 1 and Match.objects.count() == 0
    call_command("import_statement", str(path), "--confirm", "--user", "finance")
    assert Match.objects.get().payout == payout
    call_command("verify_ledger")


def test_confirm_needs_a_user(statement_file):
    path, _ = statement_file
    with pytest.raises(CommandError, match="--confirm needs --user"):
        call_command("import_statement", str(path), "--confirm")


def test_malformed_file_fails_with_one_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_bytes(sample("malformed.xml"))
    with pytest.raises(CommandError) as exc:
        call_command("import_statement", str(path))
    assert str(exc.value).startswith("bad.xml: not well-formed XML") and "\n" not in str(exc.value)
    assert Statement.objects.count() == 0
