from django.shortcuts import render

from atlas.roles import OPS, require_roles


@require_roles(OPS)
def upload(request):
    # Placeholder until the upload page lands.
    return render(request, "base.html", {})
