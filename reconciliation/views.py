from django.shortcuts import render

from atlas.roles import ALL, require_roles


@require_roles(*ALL)
def index(request):
    # Placeholder page until the reconciliation pages land.
    return render(request, "base.html", {})
