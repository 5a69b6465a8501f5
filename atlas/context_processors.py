from atlas.roles import ROLE_LABELS, user_roles


def navigation(request):
    roles = user_roles(getattr(request, "user", None))
    return {
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
    }
