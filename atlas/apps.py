from django.apps import AppConfig
from django.db.models.signals import post_migrate


def sync_group_permissions(sender=None, using="default", **kwargs):
    """Admin site permissions of the role groups: ``admin`` all, the others view-only.

    Runs after every ``migrate`` (idempotent), so models added later are covered.
    """
    from django.contrib.auth.models import Group, Permission

    from atlas.roles import ADMIN, ROLES

    for name in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=name)
        perms = Permission.objects.using(using).all()
        if name != ADMIN:
            perms = perms.filter(codename__startswith="view_")
        group.permissions.set(perms)


class AtlasConfig(AppConfig):
    name = "atlas"
    verbose_name = "Atlas"

    def ready(self):
        post_migrate.connect(sync_group_permissions, dispatch_uid="atlas_sync_group_permissions")
        from atlas import signals  # noqa: F401  (security log receivers)
