"""Form widgets shared by the filter forms of the list pages.

:class:`Select` is Django's ``forms.Select`` rendered in Python: the same HTML as the
``django/forms/widgets/select.html`` template (options, optgroups, attributes, escaping), without
rendering a template per option. A list page's filter with one option per partner or client
otherwise costs a template include per option on every request, which grows with the book.
"""

from __future__ import annotations

from django import forms
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


def _text(value) -> str:
    """``{{ value|stringformat:'s' }}``."""
    return "%s" % (value,)  # noqa: UP031 - the filter's exact formatting


def _attrs_html(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``: `` name="value"``, a bare `` name`` for True, nothing for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(_text(value))}"')
    return "".join(parts)


class Select(forms.Select):
    """``forms.Select`` with the template's output built in Python (same markup, same escaping)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        context = Context(autoescape=True)
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{render_value_in_context(group_name, context)}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{conditional_escape(_text(option["value"]))}"{_attrs_html(option["attrs"])}>'
                    f"{render_value_in_context(option['label'], context)}</option>\n"  # the option template's newline
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        # Every name, value and label above went through conditional_escape (as ``{{ }}`` does).
        return mark_safe("".join(parts))  # noqa: S308
