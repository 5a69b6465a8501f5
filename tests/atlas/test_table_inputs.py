"""CheckBoxColumn's once-per-column ``<input>`` attributes and StatusColumn's direct field read give
tables2's cells: a ``td__input`` that sets its own value, a missing value, odd values, two tables of one
class, a model record and a dict record."""

import django_tables2 as tables
import pytest
from django.template import Context
from django.test import RequestFactory

from atlas.tables import AtlasTable, CheckBoxColumn, StatusColumn
from clients.models import Client
from tests.atlas.test_tables import REFERENCE, configured, squeeze
from tests.factories import ClientFactory


def _pair(checkbox_column):
    class Inputs(AtlasTable):
        pick = checkbox_column(accessor="id", attrs={"td__input": {"name": "ids", "data-x": 'a"b'}})
        fixed = checkbox_column(accessor="id", attrs={"td__input": {"value": "same"}})
        bare = checkbox_column(accessor="id")

    return Inputs


def test_checkbox_inputs_render_as_tables2s():
    rows = [{"id": 1}, {"id": "<2> & 'x'"}, {"id": None}, {"id": 4.5}, {"id": ""}]
    request = RequestFactory().get("/")
    for _ in range(2):  # a second table of the same class
        ours = configured(_pair(CheckBoxColumn)(rows), request, 10)
        theirs = configured(_pair(tables.CheckBoxColumn)(rows), request, 10)
        assert squeeze(ours.body_html()) == squeeze(REFERENCE.render(Context({"table": theirs})))
        assert 'value="&lt;2&gt; &amp; &#x27;x&#x27;"' in ours.body_html()


@pytest.mark.django_db
def test_status_badges_read_the_raw_value_as_tables2():
    ClientFactory(client_id="A1", status="on_hold")
    ClientFactory(client_id="A2", status="suspended")

    class Badges(AtlasTable):
        status = StatusColumn()
        other = StatusColumn(accessor="client_id")

    request = RequestFactory().get("/")
    rows = Client.objects.order_by("client_id")
    ours = configured(Badges(rows), request, 10)
    html = squeeze(ours.body_html())
    assert 'text-bg-warning text-dark">On Hold<' in html and 'text-bg-danger">Suspended<' in html
    dicts = configured(Badges([{"status": "on_hold", "client_id": "A1"}]), request, 10)
    assert 'text-bg-warning text-dark">on hold<' in dicts.body_html()
