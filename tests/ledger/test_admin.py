"""The ledger admin is read-only for everyone, a superuser included: viewing works, every
add/change/delete is refused with 403 and changes nothing."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from ledger import services
from ledger.models import Account, AccountKind, JournalEntry, Posting, ReserveTranche, SourceType
from tests.factories import ClientFactory, ReceivableFactory, TransactionFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser_client(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-123")
    client.force_login(user)
    return client


@pytest.fixture
def booked(db):
    client = ClientFactory(client_id="CLADM", advance_rate=D("0.80"), reserve_rate=D("0.10"), reserve_hold_days=30)
    receivable = ReceivableFactory(client=client, face_value=D("1000.00"))
    advance = TransactionFactory(
        client=client, type="advance", amount=D("800.00"), receivable=receivable, date=datetime.date(2026, 1, 5)
    )
    collection = TransactionFactory(
        client=client, type="collection", amount=D("1000.00"), receivable=receivable, date=datetime.date(2026, 2, 1)
    )
    services.book_transactions([advance, collection])
    entry = JournalEntry.objects.get(source_type=SourceType.TRANSACTION, transaction=collection)
    return {
        "entry": entry,
        "posting": entry.postings.order_by("id").first(),
        "account": Account.objects.get(client=client, kind=AccountKind.SETTLEMENT),
        "tranche": ReserveTranche.objects.get(transaction=collection),
    }


def _snapshot():
    return (
        list(Account.objects.order_by("pk").values_list("pk", "balance", "posting_count", "kind")),
        list(JournalEntry.objects.order_by("pk").values_list("pk", "date", "type", "amount", "description")),
        list(Posting.objects.order_by("pk").values_list("pk", "side", "amount", "balance_after", "account_id")),
        list(ReserveTranche.objects.order_by("pk").values_list("pk", "amount", "due_date", "released_on")),
    )


MODELS = {"account": "account", "journalentry": "entry", "posting": "posting", "reservetranche": "tranche"}


@pytest.mark.parametrize("model,key", MODELS.items())
def test_admin_lists_and_shows_read_only(superuser_client, booked, model, key):
    obj = booked[key]
    response = superuser_client.get(reverse(f"admin:ledger_{model}_changelist"))
    assert response.status_code == 200
    assert reverse(f"admin:ledger_{model}_change", args=[obj.pk]) in response.content.decode()
    assert reverse(f"admin:ledger_{model}_add") not in response.content.decode()
    response = superuser_client.get(reverse(f"admin:ledger_{model}_change", args=[obj.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="_save"' not in text and reverse(f"admin:ledger_{model}_delete", args=[obj.pk]) not in text


@pytest.mark.parametrize("model,key", MODELS.items())
def test_admin_refuses_change_delete_add(superuser_client, booked, model, key):
    obj = booked[key]
    before = _snapshot()
    change = superuser_client.post(
        reverse(f"admin:ledger_{model}_change", args=[obj.pk]),
        {"amount": "1.00", "balance": "1.00", "balance_after": "1.00", "description": "tampered", "_save": "Save"},
    )
    assert change.status_code == 403
    delete = superuser_client.post(reverse(f"admin:ledger_{model}_delete", args=[obj.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert superuser_client.get(reverse(f"admin:ledger_{model}_delete", args=[obj.pk])).status_code == 403
    assert superuser_client.get(reverse(f"admin:ledger_{model}_add")).status_code == 403
    assert superuser_client.post(reverse(f"admin:ledger_{model}_add"), {"amount": "1.00"}).status_code == 403
    # the bulk delete action is not offered either
    superuser_client.post(
        reverse(f"admin:ledger_{model}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert _snapshot() == before
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_entry_admin_shows_its_postings_inline(superuser_client, booked):
    entry = booked["entry"]
    text = superuser_client.get(reverse("admin:ledger_journalentry_change", args=[entry.pk])).content.decode()
    # collection of 1,000.00 on an 800.00 advance: bank 1,000.00 = factoring 800.00 + reserve 20.00 + settlement 180.00
    for amount in ("1000.00", "800.00", "20.00", "180.00"):
        assert amount in text
    assert text.count("CLADM:") >= 3  # the client accounts of the postings
