import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Hashing passwords with PBKDF2 dominates these tests; MD5 is fine for throwaway test users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
