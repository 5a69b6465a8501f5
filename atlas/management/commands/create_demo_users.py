"""Create one demo user per role (dev mode only). Idempotent: re-running resets nothing else."""

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError

from atlas.roles import ADMIN, ROLES

DEMO_PASSWORD = "atlas-demo-2026"


class Command(BaseCommand):
    help = "Create the demo users ops, credit, risk, finance and admin (dev mode only)."

    def handle(self, *args, **options):
        if settings.PROD:
            raise CommandError("Demo users exist only in dev mode (ATLAS_ENV=dev).")
        for role in ROLES:
            user, created = User.objects.get_or_create(username=role)
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == ADMIN
            user.is_superuser = role == ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"{'created' if created else 'exists '} {role:8s} password: {DEMO_PASSWORD}")
