"""``{{ amount|money }}``: an amount with its two decimals (``atlas.money.fmt``), whatever scale
the database handed back (SQLite returns sums with many trailing zeros)."""

from django import template

from atlas.money import fmt

register = template.Library()


@register.filter
def money(value):
    return fmt(value)
