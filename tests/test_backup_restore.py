"""The documented backup and restore (bin/backup-restore-check) round-trips a database with figures."""

import subprocess
from pathlib import Path

import pytest

from tests.helpers import add_figure, make_upload, postgres_test_url, uses_postgres

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not uses_postgres(), reason="needs DATABASE_URL=postgres://... for pg_dump and pg_restore"),
]


def test_backup_restores_every_row(transactional_db, store, owner, tmp_path):
    upload = make_upload(store)
    add_figure(upload, "search", 205, 4, 2)
    add_figure(upload, "total", 700, 9, 4)
    backup = tmp_path / "backup.dump"

    result = subprocess.run(
        [str(REPO_ROOT / "bin" / "backup-restore-check"), postgres_test_url(), str(backup)],
        capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "traffic_trafficfigure=2" in result.stdout
    assert "accounts_store=1" in result.stdout
    assert backup.stat().st_size > 0
