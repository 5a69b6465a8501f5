"""Small template helpers of the shared layout, for pages that print many rows.

- ``{% status_badge status label %}``: a status as a Bootstrap badge, the markup of
  ``includes/_status_badge.html`` (which calls this tag), without an ``{% include %}`` per row.
- ``|money``: ``|floatformat:2`` with a short path for two-place Decimals (amounts).
- ``|ymd``: ``|date:"Y-m-d"`` with a short path for dates.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import template
from django.conf import settings
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

BADGE_CLASSES = {
    **dict.fromkeys(("active", "executed", "closed", "released", "done"), "text-bg-success"),
    **dict.fromkeys(("on_hold", "overdue", "returned", "warning", "running"), "text-bg-warning text-dark"),
    **dict.fromkeys(("suspended", "blocked", "failed"), "text-bg-danger"),
    "approved": "text-bg-primary",
    **dict.fromkeys(("requested", "open"), "text-bg-info text-dark"),
}


@register.simple_tag
def status_badge(status, label=None):
    """``<span class="badge …">label</span>``; the label falls back to the status (``label|default:status``)."""
    css = BADGE_CLASSES.get(status, "text-bg-secondary") if isinstance(status, str) else "text-bg-secondary"
    return format_html('<span class="badge {}">{}</span>', css, label or status)


def _plain_numbers() -> bool:
    """Numbers are written as ``1234.50`` in the active locale (no grouping, ``.`` as separator)."""
    return not settings.USE_THOUSAND_SEPARATOR and formats.get_format("DECIMAL_SEPARATOR", use_l10n=True) == "."


@register.filter(is_safe=True)
def money(value):
    """``{{ value|floatformat:2 }}``. An amount read from a two-place DecimalField is already exactly what
    floatformat would print (``str`` of the Decimal) when numbers are plain; anything else goes to floatformat."""
    if (
        type(value) is Decimal
        and value.is_finite()
        and value.as_tuple().exponent == -2
        and not (value.is_zero() and value.is_signed())
        and _plain_numbers()
    ):
        return mark_safe(str(value))  # noqa: S308 - digits, a sign and a point
    return floatformat(value, 2)


@register.filter(expects_localtime=True, is_safe=False)
def ymd(value):
    """``{{ value|date:"Y-m-d" }}``: a date as ISO 8601 (what the date filter's ``Y-m-d`` writes); datetimes
    (already in the current time zone, like the date filter's) and anything else go to the date filter."""
    if type(value) is datetime.date:
        return value.isoformat()
    return date_filter(value, "Y-m-d")
