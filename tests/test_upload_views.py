from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.helpers import make_upload
from traffic.models import TrafficFigure, Upload

pytestmark = pytest.mark.django_db

WEEK_CSV = "traffic-source_week_2026-11-02_all_gbk.csv"


def uploads_url(store):
    return reverse("traffic:uploads", args=[store.slug])


def sample_file(samples_dir, name):
    return SimpleUploadedFile(name, (samples_dir / name).read_bytes())


def post_files(client, store, files, capture, headers=None, **options):
    with capture(execute=True):
        return client.post(uploads_url(store), {"files": files, **options}, headers=headers)


def test_upload_imports_sample_through_task(client, analyst, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(analyst)

    response = post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)

    upload = Upload.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("traffic:upload_detail", args=[store.slug, upload.id])
    assert upload.status == Upload.Status.SUCCEEDED
    assert upload.uploaded_by == analyst
    assert upload.original_name == WEEK_CSV
    assert len(upload.sha256) == 64
    search = TrafficFigure.objects.get(store=store, source="search", sub_source="", is_current=True)
    assert search.visitors == 1408
    assert search.granularity == "week"


def test_upload_keeps_file_under_internal_name(client, analyst, store, samples_dir, upload_root, django_capture_on_commit_callbacks):
    client.force_login(analyst)

    post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)

    upload = Upload.objects.get()
    stored = list(Path(upload_root).iterdir())
    assert [path.name for path in stored] == [upload.stored_name]
    assert WEEK_CSV not in upload.stored_name


def test_upload_several_files(client, owner, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(owner)
    files = [sample_file(samples_dir, WEEK_CSV), sample_file(samples_dir, "traffic-trend_daily_2026-10.csv")]

    response = post_files(client, store, files, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response.url == uploads_url(store)
    assert sorted(Upload.objects.values_list("status", flat=True)) == ["succeeded", "succeeded"]


def test_upload_options_apply(client, owner, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(owner)

    post_files(
        client, store, [sample_file(samples_dir, "traffic-source_day_2026-11-03_pc_en.xlsx")],
        django_capture_on_commit_callbacks, terminal="pc", region="exclude_cn",
    )

    terminals = set(TrafficFigure.objects.values_list("terminal", "region"))
    assert terminals == {("pc", "exclude_cn")}


def test_upload_unknown_layout_fails_with_message(client, owner, store, django_capture_on_commit_callbacks):
    client.force_login(owner)
    junk = SimpleUploadedFile("notes.csv", "名字,年龄\n张三,30\n".encode())

    post_files(client, store, [junk], django_capture_on_commit_callbacks)

    upload = Upload.objects.get()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages
    assert upload.messages[0]["level"] == "error"
    assert not TrafficFigure.objects.exists()


def test_upload_empty_file_fails(client, owner, store, django_capture_on_commit_callbacks):
    client.force_login(owner)

    post_files(client, store, [SimpleUploadedFile("empty.csv", b"")], django_capture_on_commit_callbacks)

    assert Upload.objects.get().status == Upload.Status.FAILED
    assert not TrafficFigure.objects.exists()


def test_upload_over_limit_is_rejected_whole(client, owner, store, settings, upload_root, django_capture_on_commit_callbacks):
    settings.UPLOAD_MAX_BYTES = 100
    client.force_login(owner)
    small = SimpleUploadedFile("small.csv", b"x" * 50)
    large = SimpleUploadedFile("large.csv", b"x" * 500)

    response = post_files(client, store, [small, large], django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert "large.csv" in response.content.decode()
    assert not Upload.objects.exists()
    assert list(Path(upload_root).glob("*")) == []


def test_upload_viewer_gets_403(client, viewer, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(viewer)

    response = post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)

    assert response.status_code == 403
    assert not Upload.objects.exists()


def test_upload_page_hides_form_from_viewer(client, viewer, store):
    client.force_login(viewer)

    response = client.get(uploads_url(store))

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' not in response.content.decode()


def test_upload_outsider_gets_404(client, outsider, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(outsider)

    response = post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)

    assert response.status_code == 404
    assert not Upload.objects.exists()


def test_upload_detail_polls_until_done(client, owner, store):
    upload = make_upload(store, status=Upload.Status.PROCESSING)
    client.force_login(owner)
    url = reverse("traffic:upload_detail", args=[store.slug, upload.id])

    running = client.get(url, headers={"HX-Request": "true"}).content.decode()
    upload.status = Upload.Status.SUCCEEDED
    upload.save()
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 1s"' in running
    assert "<html" not in running
    assert 'hx-trigger="every 1s"' not in done


def test_finished_poll_replaces_delete_box(client, owner, store):
    """The delete box's text depends on the outcome, so the last poll swaps it too."""
    upload = make_upload(store, status=Upload.Status.PROCESSING)
    upload.rows_read, upload.rows_total = 41000, 100000
    upload.save()
    client.force_login(owner)
    url = reverse("traffic:upload_detail", args=[store.slug, upload.id])

    running = client.get(url, headers={"HX-Request": "true", "Accept-Language": "en"}).content.decode()
    upload.status = Upload.Status.SUCCEEDED
    upload.save()
    done = client.get(url, headers={"HX-Request": "true", "Accept-Language": "en"}).content.decode()
    page = client.get(url, headers={"Accept-Language": "en"}).content.decode()

    assert "41,000 of 100,000 rows read" in running
    assert "delete-zone" not in running
    assert 'id="delete-zone" hx-swap-oob="true"' in done
    assert "every figure it brought" in done
    assert page.count('id="delete-zone"') == 1
    assert "hx-swap-oob" not in page


def test_upload_detail_of_other_store_is_404(client, outsider, owner, store, other_store):
    upload = make_upload(store)
    client.force_login(outsider)

    response = client.get(reverse("traffic:upload_detail", args=[other_store.slug, upload.id]))

    assert response.status_code == 404


def test_upload_detail_outsider_on_owner_store_is_404(client, outsider, store):
    upload = make_upload(store)
    client.force_login(outsider)

    response = client.get(reverse("traffic:upload_detail", args=[store.slug, upload.id]))

    assert response.status_code == 404


def test_upload_same_file_twice_tells_user(client, owner, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(owner)
    post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)

    english = {"Accept-Language": "en"}
    response = post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks, english)
    page = client.get(response.url, headers=english)

    assert Upload.objects.count() == 1
    assert f"{WEEK_CSV} was already uploaded" in page.content.decode()
    assert "nothing changed" in page.content.decode()


def test_delete_upload_by_owner(client, owner, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(owner)
    post_files(client, store, [sample_file(samples_dir, WEEK_CSV)], django_capture_on_commit_callbacks)
    upload = Upload.objects.get()

    response = client.post(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    assert response.status_code == 302
    assert not Upload.objects.exists()
    assert not TrafficFigure.objects.exists()


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_delete_upload_needs_owner(client, request, store, role):
    upload = make_upload(store)
    client.force_login(request.getfixturevalue(role))

    response = client.post(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    assert response.status_code == 403
    assert Upload.objects.filter(id=upload.id).exists()


def test_delete_upload_outsider_gets_404(client, outsider, store):
    upload = make_upload(store)
    client.force_login(outsider)

    response = client.post(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    assert response.status_code == 404
    assert Upload.objects.filter(id=upload.id).exists()


def test_delete_upload_rejects_get(client, owner, store):
    upload = make_upload(store)
    client.force_login(owner)

    response = client.get(reverse("traffic:upload_delete", args=[store.slug, upload.id]))

    assert response.status_code == 405


def test_problems_csv_lists_location(client, owner, store, django_capture_on_commit_callbacks):
    client.force_login(owner)
    bad = "流量来源,时间周期2026-11-02~2026-11-08\n流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n搜索,-5,1,1\n"
    post_files(client, store, [SimpleUploadedFile("bad.csv", bad.encode())], django_capture_on_commit_callbacks)
    upload = Upload.objects.get()

    response = client.get(reverse("traffic:upload_problems", args=[store.slug, upload.id]), headers={"Accept-Language": "en"})

    text = response.content.decode("utf-8")
    assert response["Content-Type"].startswith("text/csv")
    assert text.startswith("\ufeff")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Level,Message,File,Sheet,Row,Column,Value"
    assert ",bad.csv,,3," in lines[1]
    assert lines[1].endswith(",-5")


def test_problems_csv_outsider_gets_404(client, outsider, store):
    upload = make_upload(store)
    client.force_login(outsider)

    response = client.get(reverse("traffic:upload_problems", args=[store.slug, upload.id]))

    assert response.status_code == 404


def test_upload_form_period_option(client, owner, store, django_capture_on_commit_callbacks):
    client.force_login(owner)
    untitled = SimpleUploadedFile("untitled.csv", "流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n搜索,100,3,2\n".encode())

    post_files(client, store, [untitled], django_capture_on_commit_callbacks, period="2026-10-01~2026-10-31")

    search = TrafficFigure.objects.get(source="search")
    assert (search.granularity, str(search.period_start)) == ("month", "2026-10-01")


def test_upload_form_rejects_bad_period(client, owner, store, django_capture_on_commit_callbacks):
    client.force_login(owner)
    untitled = SimpleUploadedFile("untitled.csv", b"x")

    response = post_files(client, store, [untitled], django_capture_on_commit_callbacks, period="2026-10-31~2026-10-01")

    assert response.status_code == 200
    assert response.context["form"].errors["period"]
    assert not Upload.objects.exists()


def test_upload_list_polls_while_running(client, owner, store):
    running = make_upload(store, "running.csv", status=Upload.Status.QUEUED)
    client.force_login(owner)

    polling = client.get(uploads_url(store), headers={"HX-Request": "true"}).content.decode()
    Upload.objects.filter(id=running.id).update(status=Upload.Status.SUCCEEDED)
    settled = client.get(uploads_url(store), headers={"HX-Request": "true"}).content.decode()

    assert polling.lstrip().startswith('<div id="upload-rows"')
    assert 'hx-trigger="every 2s"' in polling
    assert 'hx-trigger="every 2s"' not in settled


def test_upload_detail_shows_stored_slices(client, owner, store, samples_dir, django_capture_on_commit_callbacks):
    client.force_login(owner)
    post_files(client, store, [sample_file(samples_dir, "traffic-source_month_2026-10_wireless.xls")], django_capture_on_commit_callbacks)
    upload = Upload.objects.get()

    response = client.get(reverse("traffic:upload_detail", args=[store.slug, upload.id]), headers={"Accept-Language": "en"})

    assert upload.slices() == [{
        "granularity": "Month", "terminal": "Wireless", "region": "All traffic", "first": "2026-10", "last": "2026-10", "periods": 1,
    }]
    html = response.content.decode()
    assert "Traffic-source report" in html
    assert "Wireless" in html
