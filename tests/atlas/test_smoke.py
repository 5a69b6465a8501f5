import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client):
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


@pytest.mark.django_db
def test_ops_sees_client_list(client_as):
    from tests.factories import ClientFactory

    ClientFactory(client_id="CL-A", name="Acme Trading")
    response = client_as("ops").get("/clients/")
    assert response.status_code == 200
    assert b"Acme Trading" in response.content


@pytest.mark.django_db
def test_user_without_role_is_refused(client, make_user):
    client.force_login(make_user(None))
    assert client.get("/clients/").status_code == 403
