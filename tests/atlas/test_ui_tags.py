"""``{% status_badge %}`` (atlas.templatetags.atlas_ui) renders what ``includes/_status_badge.html`` rendered
before it called the tag, for every status it colours, unknown ones, missing labels and text that needs escaping."""

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string

from clients.models import Client
from payouts.models import PayoutStatus

# includes/_status_badge.html before the tag (the reference).
BEFORE = Template(
    "<span class=\"badge {% if status == 'active'"
    " or status == 'executed'"
    " or status == 'closed'"
    " or status == 'released'"
    " or status == 'done' %}text-bg-success"
    "{% elif status == 'on_hold'"
    " or status == 'overdue'"
    " or status == 'returned'"
    " or status == 'warning'"
    " or status == 'running' %}text-bg-warning text-dark"
    "{% elif status == 'suspended'"
    " or status == 'blocked'"
    " or status == 'failed' %}text-bg-danger"
    "{% elif status == 'approved' %}text-bg-primary"
    "{% elif status == 'requested'"
    " or status == 'open' %}text-bg-info text-dark"
    "{% else %}text-bg-secondary{% endif %}"
    '">{{ label|default:status }}</span>'
)
STATUSES = [
    "active",
    "executed",
    "closed",
    "released",
    "done",
    "on_hold",
    "overdue",
    "returned",
    "warning",
    "running",
    "suspended",
    "blocked",
    "failed",
    "approved",
    "requested",
    "open",
    "ready",
    "cancelled",
    "",
    None,
    "other",
    PayoutStatus.APPROVED,
    Client.Status.ON_HOLD,
]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("label", ["", None, "On <hold> & co", "Approved", 0])
def test_badge_equals_the_former_partial(status, label):
    context = {"status": status, "label": label}
    expected = BEFORE.render(Context(context))
    tag = Template("{% load atlas_ui %}{% status_badge status label %}").render(Context(context))
    assert tag == expected
    assert render_to_string("includes/_status_badge.html", context) == expected + "\n"


def test_partial_without_a_label_shows_the_status():
    expected = BEFORE.render(Context({"status": "on_hold"}))
    assert render_to_string("includes/_status_badge.html", {"status": "on_hold"}) == expected + "\n"
    assert "on_hold</span>" in expected
