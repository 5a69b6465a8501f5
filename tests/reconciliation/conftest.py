import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The ``users`` fixture hashes five passwords; a fast hasher keeps these tests quick (not a security setting)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
