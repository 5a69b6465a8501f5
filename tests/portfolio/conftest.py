import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The shared ``users`` fixture sets a password per role; PBKDF2 makes that seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
