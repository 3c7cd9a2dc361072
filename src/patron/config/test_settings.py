"""Settings for the test suite: the real settings with a fast password hasher.

Hashing passwords with PBKDF2 for every persona of every test would dominate the run time;
nothing under test depends on the hash's strength.
"""

import os

os.environ.setdefault("PATRON_ENV", "test")

from patron.config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
