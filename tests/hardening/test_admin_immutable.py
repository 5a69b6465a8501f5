"""Audit events, journal entries and postings cannot be changed or deleted through the admin
(DOMAIN.md section 4, invariant 2), not even by a superuser."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from atlas.models import AuditEvent, audit
from ledger.models import JournalEntry, Posting
from tests.factories import UserFactory
from tests.payouts.factories import funded_client


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def records(db):
    client = funded_client("250.00")  # one adjustment entry with two postings and an audit event
    entry = JournalEntry.objects.get(client=client)
    event = audit(actor=None, action="test.event", obj=entry, client=client, reason="original")
    return {"entry": entry, "posting": entry.postings.order_by("pk").first(), "event": event}


def snapshot():
    return (
        list(AuditEvent.objects.order_by("pk").values()),
        list(JournalEntry.objects.order_by("pk").values()),
        list(Posting.objects.order_by("pk").values()),
    )


CASES = [
    ("atlas", "auditevent", "event", {"action": "forged", "object_type": "x", "object_id": "1", "reason": "forged"}),
    ("ledger", "journalentry", "entry", {"description": "forged", "type": "adjustment"}),
    ("ledger", "posting", "posting", {"amount": "999999.00", "side": "C"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model", "key", "data"), CASES, ids=[c[1] for c in CASES])
def test_admin_refuses_add_change_and_delete(admin_client, records, app, model, key, data):
    obj = records[key]
    before = snapshot()
    base = f"/admin/{app}/{model}/"
    answers = {
        "change": admin_client.post(f"{base}{obj.pk}/change/", data).status_code,
        "delete": admin_client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code,
        "add": admin_client.post(f"{base}add/", data).status_code,
        "bulk delete": admin_client.post(
            base, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"}
        ).status_code,
    }
    # 403: registered read-only; 404: not in the admin at all (postings only show inside their entry).
    for what, status in answers.items():
        if what == "bulk delete" and status in (200, 302):
            continue  # the changelist ignores an unknown action; the snapshot below proves nothing happened
        assert status in (403, 404), f"admin {what} of {model} answered {status}"
    assert snapshot() == before


@pytest.mark.django_db
def test_audit_and_entries_are_visible_read_only(admin_client, records):
    page = admin_client.get(f"/admin/atlas/auditevent/{records['event'].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "original" in html
    assert 'name="_save"' not in html and "deletelink" not in html
    listing = admin_client.get("/admin/atlas/auditevent/")
    assert listing.status_code == 200 and "delete_selected" not in listing.content.decode()
    entry_page = admin_client.get(f"/admin/ledger/journalentry/{records['entry'].pk}/change/")
    assert entry_page.status_code == 200 and 'name="_save"' not in entry_page.content.decode()


@pytest.mark.django_db
def test_models_refuse_update_and_delete(records):
    event = records["event"]
    event.reason = "forged"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
