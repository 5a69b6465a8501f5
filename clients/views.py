from django.shortcuts import render

from atlas.roles import ALL, require_roles
from clients.models import Client


@require_roles(*ALL)
def client_list(request):
    clients = Client.objects.select_related("partner").order_by("client_id")
    return render(request, "clients/client_list.html", {"clients": clients})
