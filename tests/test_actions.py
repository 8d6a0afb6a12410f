import datetime
from decimal import Decimal
from unittest import mock

import pytest

from traffic import actions
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
    assert actions.claim_upload(upload.id)
    with mock.patch("traffic.importers.parse_file", return_value=ParseResult(layout="test", figures=figures)):
        return actions.run_import(upload.id)


def current(store, source):
    return TrafficFigure.objects.get(store=store, source=source, sub_source="", is_current=True)


def test_later_upload_replaces_same_keys(store):
    import_figures(store, [figure("search", 100), figure("direct", 50)], "first.csv")

    second = import_figures(store, [figure("search", 120)], "second.csv")

    assert current(store, "search").visitors == 120
    assert current(store, "search").upload == second
    assert current(store, "direct").visitors == 50
    assert TrafficFigure.objects.filter(store=store, source="search").count() == 2


def test_replacement_keeps_other_stores(store, other_store):
    import_figures(other_store, [figure("search", 7)])

    import_figures(store, [figure("search", 100)])

    assert current(other_store, "search").visitors == 7


def test_failed_write_leaves_nothing(store):
    import_figures(store, [figure("search", 100)], "first.csv")
    upload = actions.store_upload_file(store, [b"second"], "second.csv")
    actions.claim_upload(upload.id)

    with mock.patch("traffic.importers.parse_file", return_value=ParseResult(figures=[figure("search", 1)])):
        with mock.patch.object(TrafficFigure.objects, "bulk_create", side_effect=RuntimeError("disk full")):
            with pytest.raises(RuntimeError):
                actions.run_import(upload.id)

    assert current(store, "search").visitors == 100
    assert TrafficFigure.objects.count() == 1
    assert Upload.objects.get(id=upload.id).status == Upload.Status.PROCESSING


def test_claim_is_once(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")

    assert actions.claim_upload(upload.id) is True
    assert actions.claim_upload(upload.id) is False


def test_task_marks_crash_as_failed(store, settings):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    from traffic.tasks import import_upload

    with mock.patch("traffic.importers.parse_file", side_effect=RuntimeError("bug")):
        with pytest.raises(RuntimeError):
            import_upload.apply(args=[upload.id]).get()

    upload.refresh_from_db()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages[0]["message"] == actions.IMPORT_CRASHED


def test_task_skips_upload_already_claimed(store):
    upload = actions.store_upload_file(store, [b"x"], "x.csv")
    actions.claim_upload(upload.id)
    from traffic.tasks import import_upload

    with mock.patch("traffic.actions.run_import") as run_import:
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
