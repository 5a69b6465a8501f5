import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """The users fixture hashes a password per role; PBKDF2 makes that seconds on a busy machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
