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


MONEY_VALUES = [
    "0.00",
    "0.05",
    "-0.50",
    "-0.00",
    "123.45",
    "1234567890123.99",
    "10",
    "1.5",
    "1.005",
    "1.004",
    "-2.345",
    "1E+3",
    "1E-7",
    "NaN",
    "Infinity",
]


@pytest.mark.parametrize("text", MONEY_VALUES)
def test_money_equals_floatformat_2(text):
    from decimal import Decimal

    from django.template.defaultfilters import floatformat

    from atlas.templatetags.atlas_ui import money

    value = Decimal(text)
    assert money(value) == floatformat(value, 2)
    rendered = Template("{% load atlas_ui %}{{ v|money }}|{{ v|floatformat:2 }}").render(Context({"v": value}))
    mine, theirs = rendered.split("|")
    assert mine == theirs


@pytest.mark.parametrize("value", [None, "", "abc", 3, 2.5, "1.234"])
def test_money_of_other_values_equals_floatformat_2(value):
    from django.template.defaultfilters import floatformat

    from atlas.templatetags.atlas_ui import money

    assert money(value) == floatformat(value, 2)


def test_money_with_grouping_falls_back_to_floatformat(settings):
    from decimal import Decimal

    settings.USE_THOUSAND_SEPARATOR = True
    context = Context({"v": Decimal("1234567.50")})
    assert Template("{% load atlas_ui %}{{ v|money }}").render(context) == Template("{{ v|floatformat:2 }}").render(
        context
    )


def test_ymd_equals_the_date_filter(settings):
    import datetime as dt

    settings.TIME_ZONE = "Europe/Berlin"
    values = [
        dt.date(2026, 1, 2),
        dt.date(999, 12, 31),
        dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC),  # 2026-03-29 in Berlin
        dt.datetime(2026, 3, 28, 23, 30),
        None,
        "",
        "2026-01-02",
    ]
    for value in values:
        mine, theirs = (
            Template('{% load atlas_ui %}{{ v|ymd }}|{{ v|date:"Y-m-d" }}').render(Context({"v": value})).split("|")
        )
        assert mine == theirs, value
