"""Every form refuses bad values with a message beside the field (spot checks of the main forms).

"Beside the field" is checked in the HTML: after the field's ``id="id_<name>"`` and before the next
``<label``, an ``invalid-feedback`` element holds the form's error for that field; nothing changes.
"""

from __future__ import annotations

import html as htmllib
import re
from decimal import Decimal

import pytest

from atlas.models import AuditEvent
from risk.models import RiskPolicy

D = Decimal


def error_beside(page: str, field: str) -> str | None:
    """The first invalid-feedback text between the field's input and the next label, or None."""
    match = re.search(
        rf'id="id_{field}".*?(?=<label|$)',
        page,
        re.S,
    )
    if not match:
        return None
    feedback = re.search(r'class="invalid-feedback[^"]*"[^>]*>([^<]+)<', match.group(0))
    return htmllib.unescape(feedback.group(1)).strip() if feedback else None


def assert_errors_beside(response, fields: dict[str, str]):
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    form = response.context["form"]
    for field, expected in fields.items():
        assert form.errors.get(field), f"{field}: no error"
        beside = error_beside(page, field)
        assert beside, f"{field}: the error is not shown beside the field"
        assert expected in beside, f"{field}: {beside!r}"


@pytest.mark.django_db
def test_client_terms_form(client_as):
    from tests.factories import ClientFactory

    c = ClientFactory(credit_limit=D("1000.00"))
    audits = AuditEvent.objects.count()
    response = client_as("risk").post(
        f"/risk/clients/{c.client_id}/limits/",
        {
            "credit_limit": "abc",
            "advance_rate": "1.5",
            "reserve_rate": "-0.1",
            "reserve_hold_days": "-1",
            "reason": "",
        },
    )
    assert_errors_beside(
        response,
        {
            "credit_limit": "Enter a number.",
            "advance_rate": "less than or equal to 1",
            "reserve_rate": "greater than or equal to 0",
            "reserve_hold_days": "greater than or equal to 0",
            "reason": "required",
        },
    )
    c.refresh_from_db()
    assert c.credit_limit == D("1000.00") and AuditEvent.objects.count() == audits


@pytest.mark.django_db
def test_client_terms_form_sub_cent_limit(client_as):
    from tests.factories import ClientFactory

    c = ClientFactory(credit_limit=D("1000.00"))
    response = client_as("risk").post(
        f"/risk/clients/{c.client_id}/limits/",
        {
            "credit_limit": "2000.005",
            "advance_rate": "0.8",
            "reserve_rate": "0.1",
            "reserve_hold_days": "30",
            "reason": "x",
        },
    )
    assert_errors_beside(response, {"credit_limit": "2 decimal places"})
    c.refresh_from_db()
    assert c.credit_limit == D("1000.00")


@pytest.mark.django_db
def test_policy_form(client_as):
    before = RiskPolicy.get()
    response = client_as("risk").post(
        "/risk/policy/",
        {
            "exposure_warning_level": "2",
            "min_payout": "-5",
            "overdue_share_level": "abc",
            "default_concentration_limit": "0.25",
            "reason": "test",
        },
    )
    assert_errors_beside(
        response,
        {"exposure_warning_level": "", "min_payout": "", "overdue_share_level": "Enter a number."},
    )
    after = RiskPolicy.get()
    assert (after.exposure_warning_level, after.min_payout) == (before.exposure_warning_level, before.min_payout)


@pytest.mark.django_db
def test_portfolio_scenario_form(client_as):
    response = client_as("finance").get("/portfolio/", {"months": "0", "default_rate": "7", "delay_days": "-3"})
    assert_errors_beside(response, {"months": "", "default_rate": "", "delay_days": ""})


@pytest.mark.django_db
def test_login_form_says_what_is_wrong(client, make_user):
    response = client.post("/accounts/login/", {"username": "nobody", "password": ""})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_the_beside_check_can_fail():
    ok = '<label>A</label><input id="id_a"><div class="invalid-feedback d-block">Bad a</div><label>B</label>'
    assert error_beside(ok, "a") == "Bad a"
    elsewhere = (
        '<label>A</label><input id="id_a"><label>B</label><input id="id_b"><div class="invalid-feedback">x</div>'
    )
    assert error_beside(elsewhere, "a") is None
