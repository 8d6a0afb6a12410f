"""Test-run environment, set before Django reads its settings."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="traffic-test-data-"))
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
