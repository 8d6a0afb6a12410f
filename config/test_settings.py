"""Settings for the test suite: the normal settings with safe defaults for what tests need.

Values already in the environment win, so CI can point the suite at PostgreSQL
and Redis with DATABASE_URL and REDIS_URL.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="traffic-test-data-"))
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# The test client and the browser test's live server speak plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from config.settings import *  # noqa: E402,F401,F403

# Fast hashing keeps fixtures that create users quick.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
