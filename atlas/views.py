from django.shortcuts import render

from atlas.roles import ALL, require_roles


@require_roles(*ALL)
def dashboard(request):
    return render(request, "atlas/dashboard.html", {})
