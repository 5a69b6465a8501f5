"""Links from reconciliation pages to the payout and client pages (owned by other apps)."""

from django import template
from django.urls import NoReverseMatch, reverse

from atlas.money import fmt

register = template.Library()


@register.simple_tag
def payout_url(payout) -> str:
    try:
        return reverse("payouts:detail", args=[payout.pk])
    except NoReverseMatch:
        return f"/payouts/{payout.pk}/"


@register.simple_tag
def client_url(client) -> str:
    try:
        return reverse("clients:detail", args=[client.client_id])
    except NoReverseMatch:
        return f"/clients/{client.client_id}/"


@register.filter
def money(value) -> str:
    return fmt(value)
