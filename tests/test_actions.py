import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from traffic import actions, jobs
from traffic.importers.base import ParsedFigure, ParseResult
from traffic.models import TrafficFigure, Upload

pytestmark = pytest.mark.django_db

WEEK = datetime.date(2026, 11, 2)


def figure(source, visitors, sub_source=""):
    return ParsedFigure(
        granularity="week", period_start=WEEK, terminal="all", region="all",
        source=source, sub_source=sub_source, visitors=visitors, inquiry_customers=1, tm_customers=0,
        feedback_conversion_rate=Decimal("0.01"),
    )


def import_figures(store, figures, name="file.csv"):
    upload = actions.store_upload_file(store, [name.encode()], name)
    attempt = jobs.claim_upload(upload.id)
    assert attempt == 1
    with mock.patch("traffic.importers.parse_file", return_value=ParseResult(layout="test", figures=figures)):
        return jobs.run_import(upload.id, attempt)


def current(store, source):
    return TrafficFigure.objects.get(store=store, source=source, sub_source="", is_current=True)


def test_later_upload_replaces_whole_slice(store):
    import_figures(store, [figure("search", 100), figure("direct", 50)], "first.csv")

    second = import_figures(store, [figure("search", 120)], "second.csv")

    assert current(store, "search").visitors == 120
    assert current(store, "search").upload == second
    assert not TrafficFigure.objects.filter(store=store, source="direct", is_current=True).exists()
    assert TrafficFigure.objects.filter(store=store, source="search").count() == 2


def test_later_upload_keeps_other_slices(store):
    import_figures(store, [figure("search", 100)], "first.csv")
    other_terminal = figure("search", 7)
    other_terminal.terminal = "pc"

    import_figures(store, [other_terminal], "second.csv")

    assert TrafficFigure.objects.get(store=store, terminal="all", is_current=True).visitors == 100
    assert TrafficFigure.objects.get(store=store, terminal="pc", is_current=True).visitors == 7


def test_replacement_keeps_other_stores(store, other_store):
    import_figures(other_store, [figure("search", 7)])

    import_figures(store, [figure("search", 100)])

    assert current(other_store, "search").visitors == 7


def test_failed_write_leaves_nothing(store):
    import_figures(store, [figure("search", 100)], "first.csv")
    upload = actions.store_upload_file(store, [b"second"], "second.csv")
    attempt = jobs.claim_upload(upload.id)

    with mock.patch("traffic.importers.parse_file", return_value=ParseResult(figures=[figure("search", 1)])):
        with mock.patch.object(TrafficFigure.objects, "bulk_create", side_effect=RuntimeError("disk full")):
            with pytest.raises(RuntimeError):
                jobs.run_import(upload.id, attempt)

    assert current(store, "search").visitors == 100
    assert TrafficFigure.objects.count() == 1
    assert Upload.objects.get(id=upload.id).status == Upload.Status.PROCESSING


def test_claim_is_once(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")

    assert jobs.claim_upload(upload.id) == 1
    assert jobs.claim_upload(upload.id) is None


def test_task_marks_crash_as_failed(store, settings):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    from traffic.tasks import import_upload

    with mock.patch("traffic.importers.parse_file", side_effect=RuntimeError("bug")):
        with pytest.raises(RuntimeError):
            import_upload.apply(args=[upload.id]).get()

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages[0]["message"] == jobs.IMPORT_CRASHED


def test_task_skips_upload_already_claimed(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    jobs.claim_upload(upload.id)
    from traffic.tasks import import_upload

    with mock.patch("traffic.jobs.run_import") as run_import:
        import_upload.apply(args=[upload.id])

    run_import.assert_not_called()


def test_store_file_over_limit_removes_file(store, settings, upload_root):
    settings.UPLOAD_MAX_BYTES = 10

    with pytest.raises(actions.FileTooLarge):
        actions.store_upload_file(store, [b"123456", b"789012"], "big.csv")

    assert list(upload_root.iterdir()) == []
    assert not Upload.objects.exists()


def test_store_file_hashes_content(store):
    upload = actions.store_upload_file(store, [b"abc"], "../../etc/passwd")

    assert upload.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert upload.original_name == "passwd"
    assert upload.file_path.read_bytes() == b"abc"


def test_older_upload_imported_later_stays_replaced(store):
    older = actions.store_upload_file(store, [b"older"], "older.csv")
    newer = actions.store_upload_file(store, [b"newer"], "newer.csv")

    for upload, visitors in ((newer, 120), (older, 100)):
        attempt = jobs.claim_upload(upload.id)
        with mock.patch("traffic.importers.parse_file", return_value=ParseResult(figures=[figure("search", visitors)])):
            jobs.run_import(upload.id, attempt)

    assert current(store, "search").visitors == 120
    assert TrafficFigure.objects.filter(source="search", is_current=False).get().upload == older


def test_delete_upload_restores_replaced_figures(store, upload_root):
    first = import_figures(store, [figure("search", 100), figure("direct", 50)], "first.csv")
    second = import_figures(store, [figure("search", 120), figure("other", 9)], "second.csv")

    actions.delete_upload(second)

    assert current(store, "search").visitors == 100
    assert current(store, "search").upload == first
    assert current(store, "direct").visitors == 50
    assert not TrafficFigure.objects.filter(source="other").exists()
    assert not second.file_path.exists()


def test_delete_older_upload_keeps_newer_current(store):
    first = import_figures(store, [figure("search", 100)], "first.csv")
    import_figures(store, [figure("search", 120)], "second.csv")

    actions.delete_upload(first)

    assert current(store, "search").visitors == 120
    assert TrafficFigure.objects.count() == 1


def test_same_file_twice_is_duplicate(store, upload_root):
    first = actions.store_upload_file(store, [b"same bytes"], "a.csv")

    with pytest.raises(actions.DuplicateUpload) as excinfo:
        actions.store_upload_file(store, [b"same ", b"bytes"], "b.csv")

    assert excinfo.value.existing == first
    assert Upload.objects.count() == 1
    assert [path.name for path in upload_root.iterdir()] == [first.stored_name]


def test_same_file_after_failure_is_accepted(store):
    first = actions.store_upload_file(store, [b"same bytes"], "a.csv")
    Upload.objects.filter(id=first.id).update(status=Upload.Status.FAILED)

    second = actions.store_upload_file(store, [b"same bytes"], "a.csv")

    assert second.id != first.id


def test_same_file_with_other_options_is_accepted(store):
    actions.store_upload_file(store, [b"same bytes"], "a.csv")

    second = actions.store_upload_file(store, [b"same bytes"], "a.csv", options=actions.ImportOptions(terminal="pc"))

    assert second.terminal == "pc"


def test_same_file_in_other_store_is_accepted(store, other_store):
    actions.store_upload_file(store, [b"same bytes"], "a.csv")

    other = actions.store_upload_file(other_store, [b"same bytes"], "a.csv")

    assert other.store == other_store


def test_progress_reports_rows_total(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")

    jobs._progress_reporter(upload.id, 0)(1000, 4000)

    upload.refresh_from_db()
    assert (upload.rows_read, upload.rows_total, upload.progress_percent) == (1000, 4000, 25)


def test_enqueue_failure_marks_upload_failed(store, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    with mock.patch("traffic.tasks.import_upload.delay", side_effect=OperationalError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            actions.enqueue_import(upload)

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages[0]["message"] == jobs.IMPORT_NOT_QUEUED


def test_stale_claim_is_taken_over(store, settings):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    first = jobs.claim_upload(upload.id)
    Upload.objects.filter(id=upload.id).update(heartbeat_at=timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1))

    second = jobs.claim_upload(upload.id)

    assert (first, second) == (1, 2)


def test_live_claim_is_not_taken_over(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    jobs.claim_upload(upload.id)

    assert jobs.claim_upload(upload.id) is None


def test_superseded_attempt_writes_nothing(store, settings):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    first = jobs.claim_upload(upload.id)
    Upload.objects.filter(id=upload.id).update(heartbeat_at=timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1))
    second = jobs.claim_upload(upload.id)

    with mock.patch("traffic.importers.parse_file", return_value=ParseResult(figures=[figure("search", 5)])):
        jobs.run_import(upload.id, first)
        assert not TrafficFigure.objects.exists()
        jobs.run_import(upload.id, second)

    assert TrafficFigure.objects.get().visitors == 5
    assert Upload.objects.get(id=upload.id).status == Upload.Status.SUCCEEDED


def test_transient_error_releases_for_retry(store, settings):
    from django.db import OperationalError

    from traffic.tasks import import_upload

    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    # The test runs inside a transaction, which close_old_connections would close.
    with mock.patch("traffic.jobs.run_import", side_effect=OperationalError("server closed the connection")), \
            mock.patch("traffic.tasks.close_old_connections"):
        with mock.patch.object(import_upload, "retry", side_effect=RuntimeError("retry requested")) as retry:
            with pytest.raises(RuntimeError):
                import_upload.run(upload.id)

    upload.refresh_from_db()
    assert upload.status == Upload.Status.QUEUED
    assert upload.attempts == 1
    assert retry.call_args.kwargs["countdown"] == settings.IMPORT_RETRY_BASE_SECONDS


def test_transient_error_on_last_attempt_fails(store, settings):
    from django.db import OperationalError

    from traffic.tasks import import_upload

    settings.IMPORT_MAX_ATTEMPTS = 1
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    with mock.patch("traffic.jobs.run_import", side_effect=OperationalError("server closed the connection")), \
            mock.patch("traffic.tasks.close_old_connections"):
        import_upload.run(upload.id)

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages[0]["message"] == jobs.IMPORT_GAVE_UP


def test_watchdog_requeues_and_gives_up(store, settings):
    old = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1)
    stuck = actions.store_upload_file(store, [b"a"], "a.csv")
    exhausted = actions.store_upload_file(store, [b"b"], "b.csv")
    fresh = actions.store_upload_file(store, [b"c"], "c.csv")
    Upload.objects.filter(id=stuck.id).update(status="processing", heartbeat_at=old, attempts=1)
    Upload.objects.filter(id=exhausted.id).update(status="processing", heartbeat_at=old, attempts=settings.IMPORT_MAX_ATTEMPTS)
    Upload.objects.filter(id=fresh.id).update(status="processing", heartbeat_at=timezone.now(), attempts=1)

    requeued, failed = jobs.find_stuck_uploads()

    assert requeued == [stuck.id]
    assert failed == [exhausted.id]
    assert Upload.objects.get(id=exhausted.id).status == Upload.Status.FAILED
    assert Upload.objects.get(id=fresh.id).status == Upload.Status.PROCESSING


def test_watchdog_queued_resend_waits(store, settings):
    old = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 1)
    queued = actions.store_upload_file(store, [b"a"], "a.csv")
    Upload.objects.filter(id=queued.id).update(created_at=old)

    first, _failed = jobs.find_stuck_uploads()
    second, _failed = jobs.find_stuck_uploads()

    assert first == [queued.id]
    assert second == []
    assert jobs.claim_upload(queued.id) == 1


def test_progress_database_error_propagates(store, tmp_path):
    from django.db import OperationalError

    from traffic import importers
    from traffic.importers.base import ImportOptions

    path = tmp_path / "trend.csv"
    path.write_text("日期,流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n2026-11-03,搜索,10,1,0\n", encoding="utf-8")

    def broken_progress(rows_read, rows_total):
        raise OperationalError("lock timeout")

    with pytest.raises(OperationalError):
        importers.parse_file(path, path.name, ImportOptions(), progress=broken_progress)
