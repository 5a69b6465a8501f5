"""Small template helpers of the shared layout.

``{% status_badge status label %}``: a status as a Bootstrap badge, the markup of
``includes/_status_badge.html`` (which now calls this tag), without an ``{% include %}`` per row:
a page with a badge on every row of a long table renders a template per badge otherwise.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

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
