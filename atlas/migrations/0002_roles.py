"""Create the role groups of DOMAIN.md section 1.

Role checks in views and services use the group names (``atlas.roles``). The groups' Django
model permissions (for the admin site) are kept in step after every migrate by
``atlas.apps.sync_group_permissions``.
"""

from django.db import migrations

ROLES = ("ops", "credit", "risk", "finance", "admin")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("atlas", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
