import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import create_token, hash_token, revoke_token
from traffic.models import TrafficFigure, Upload

pytestmark = pytest.mark.django_db

WEEK_CSV = "traffic-source_week_2026-11-02_all_gbk.csv"


@pytest.fixture
def token(store, owner):
    _record, secret = create_token(store, "nightly script", owner)
    return secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def post_upload(client, store, secret, files, capture, **data):
    with capture(execute=True):
        return client.post(reverse("api:uploads", args=[store.slug]), {"files": files, **data}, headers=bearer(secret))


def sample(samples_dir, name=WEEK_CSV):
    return SimpleUploadedFile(name, (samples_dir / name).read_bytes())


def test_token_is_stored_hashed(store, token):
    record = ApiToken.objects.get()

    assert token.startswith("tsa_")
    assert record.token_hash == hash_token(token)
    assert token not in record.token_hash
    assert record.hint == token[4:12]


def test_api_upload_queues_and_imports(client, store, token, samples_dir, django_capture_on_commit_callbacks):
    response = post_upload(client, store, token, [sample(samples_dir)], django_capture_on_commit_callbacks)

    body = response.json()
    upload = Upload.objects.get()
    assert response.status_code == 202
    assert body["uploads"][0]["id"] == upload.id
    assert body["uploads"][0]["duplicate"] is False
    assert body["uploads"][0]["status_url"].endswith(f"/api/v1/stores/{store.slug}/uploads/{upload.id}")
    assert upload.status == Upload.Status.SUCCEEDED
    assert upload.uploaded_by is None
    assert TrafficFigure.objects.get(source="total").visitors == 4169


def test_api_upload_status_with_problems(client, store, token, django_capture_on_commit_callbacks):
    bad = SimpleUploadedFile("bad.csv", "流量来源,时间周期2026-11-02~2026-11-08\n流量渠道,店铺访问人数\n搜索,-5\n".encode())
    body = post_upload(client, store, token, [bad], django_capture_on_commit_callbacks).json()

    status = client.get(body["uploads"][0]["status_url"], headers={**bearer(token), "Accept-Language": "en"}).json()

    assert status["status"] == "failed"
    assert status["problems"][0]["level"] == "error"
    assert status["problems"][0]["row"] == 3
    assert status["problems"][0]["value"] == "-5"
    assert "row 3" in status["problems"][0]["text"]


def test_api_upload_same_file_twice(client, store, token, samples_dir, django_capture_on_commit_callbacks):
    first = post_upload(client, store, token, [sample(samples_dir)], django_capture_on_commit_callbacks).json()

    second = post_upload(client, store, token, [sample(samples_dir)], django_capture_on_commit_callbacks).json()

    assert second["uploads"][0]["duplicate"] is True
    assert second["uploads"][0]["id"] == first["uploads"][0]["id"]
    assert Upload.objects.count() == 1


def test_api_upload_with_options(client, store, token, samples_dir, django_capture_on_commit_callbacks):
    post_upload(
        client, store, token, [sample(samples_dir, "traffic-source_day_2026-11-03_pc_en.xlsx")],
        django_capture_on_commit_callbacks, terminal="pc",
    )

    assert set(TrafficFigure.objects.values_list("terminal", flat=True)) == {"pc"}


def test_api_upload_rejects_bad_option(client, store, token, samples_dir, django_capture_on_commit_callbacks):
    response = post_upload(client, store, token, [sample(samples_dir)], django_capture_on_commit_callbacks, terminal="tv")

    assert response.status_code == 400
    assert "terminal" in response.json()["fields"]
    assert not Upload.objects.exists()


def test_api_upload_over_limit(client, store, token, settings, django_capture_on_commit_callbacks):
    settings.UPLOAD_MAX_BYTES = 10

    response = post_upload(client, store, token, [SimpleUploadedFile("big.csv", b"x" * 100)], django_capture_on_commit_callbacks)

    assert response.status_code == 413
    assert "big.csv" in response.json()["error"]
    assert not Upload.objects.exists()


def test_api_upload_without_token_is_401(client, owner, store, samples_dir):
    client.force_login(owner)

    response = client.post(reverse("api:uploads", args=[store.slug]), {"files": [sample(samples_dir)]})

    assert response.status_code == 401
    assert not Upload.objects.exists()


def test_api_bad_token_is_401(client, store, samples_dir):
    response = client.get(reverse("api:traffic", args=[store.slug]), headers=bearer("tsa_not-a-real-token"))

    assert response.status_code == 401


def test_api_revoked_token_is_401(client, store, token):
    revoke_token(ApiToken.objects.get())

    response = client.get(reverse("api:traffic", args=[store.slug]), headers=bearer(token))

    assert response.status_code == 401


def test_api_token_of_other_store_is_404(client, store, other_store, token, samples_dir, django_capture_on_commit_callbacks):
    read = client.get(reverse("api:traffic", args=[other_store.slug]), headers=bearer(token))
    write = post_upload(client, other_store, token, [sample(samples_dir)], django_capture_on_commit_callbacks)

    assert read.status_code == 404
    assert write.status_code == 404
    assert not Upload.objects.exists()


def test_api_upload_status_of_other_store_is_404(client, store, other_store, token, outsider):
    other_upload = Upload.objects.create(store=other_store, original_name="x.csv", stored_name="x.upload", sha256="1" * 64)

    by_token = client.get(reverse("api:upload", args=[store.slug, other_upload.id]), headers=bearer(token))
    client.force_login(outsider)
    by_session = client.get(reverse("api:upload", args=[store.slug, other_upload.id]))

    assert by_token.status_code == 404
    assert by_session.status_code == 404


def test_api_read_with_token(client, store, token):
    response = client.get(reverse("api:traffic", args=[store.slug]), headers=bearer(token))

    assert response.status_code == 200
    assert response.json()["rows"] == []
    assert ApiToken.objects.get().last_used_at is not None


def test_api_upload_without_files_is_400(client, store, token):
    response = client.post(reverse("api:uploads", args=[store.slug]), {}, headers=bearer(token))

    assert response.status_code == 400
    assert "files" in response.json()["fields"]


def test_api_upload_records_token(client, store, token, samples_dir, django_capture_on_commit_callbacks):
    post_upload(client, store, token, [sample(samples_dir)], django_capture_on_commit_callbacks)

    upload = Upload.objects.get()
    assert upload.api_token == ApiToken.objects.get()
    assert "nightly script" in upload.uploaded_via()


def test_api_wrong_token_message(client, store):
    response = client.get(reverse("api:traffic", args=[store.slug]), headers={**bearer("tsa_wrong"), "Accept-Language": "en"})

    assert response.status_code == 401
    assert "invalid or has been revoked" in response.json()["error"]
