"""The comparison page, its exports and API, and the staff pages that change data."""

import datetime
import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from benchmarks.comparison import SourceComparison, Baseline, add_gap
from benchmarks.models import BaselineSnapshot, BenchmarkRun, MethodSettings, PeerFigure, StoreSharing
from tests.benchmark_fixtures import MONTH, make_peer, recompute
from tests.helpers import add_figure, make_upload
from traffic.spreadsheets import neutralise

pytestmark = pytest.mark.django_db

PEER_PREFIX = "secretpeer"


@pytest.fixture
def published_cohort(industry):
    """Ten peers with search rates 1%..10%, top five by customers, published for October 2026."""
    method = MethodSettings.current()
    method.top_rule = "count"
    method.top_value = 5
    method.save()
    peers = [
        make_peer(industry, i, 100 * i, i * i, total_visitors=200 * i, slug_prefix=PEER_PREFIX)
        for i in range(1, 11)
    ]
    recompute()
    return peers


@pytest.fixture
def own_figures(store):
    """The store's October: 3,100 search visitors and 62 feedback customers (2%), total 6,000."""
    upload = make_upload(store)
    add_figure(upload, "search", 3100, inquiry=50, tm=12, granularity="month", period_start=MONTH)
    add_figure(upload, "other", 400, inquiry=4, tm=0, granularity="month", period_start=MONTH)
    add_figure(upload, "total", 6000, inquiry=70, tm=12, granularity="month", period_start=MONTH)
    return upload


def page(client, store, **query):
    return client.get(reverse("benchmarks:comparison", args=[store.slug]), query)


def test_gap_against_top_store_median():
    row = SourceComparison(source="search", label="Search", visitors=3100, feedback_customers=62, conversion_rate=0.02)
    row.rate_baseline = Baseline(p25=0.03, median=0.05, p75=0.07, top_median=0.04, contributors=10)

    add_gap(row)

    # 3,100 × (4% − 2%) = 62 extra feedback customers.
    assert row.extra_customers == pytest.approx(62)
    assert row.rate_high < 0.04
    assert row.significant


def test_gap_within_interval_is_not_significant():
    row = SourceComparison(source="search", label="Search", visitors=50, feedback_customers=1, conversion_rate=0.02)
    row.rate_baseline = Baseline(p25=0.03, median=0.05, p75=0.07, top_median=0.04, contributors=10)

    add_gap(row)

    assert row.extra_customers == pytest.approx(1)
    assert not row.significant


def test_page_shows_baselines_and_advice(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)

    response = page(client, store, granularity="month", period="2026-10-01", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["comparison"] is not None
    search = next(row for row in response.context["comparison"].sources if row.source == "search")
    assert search.rate_baseline.top_median == pytest.approx(0.08)
    # 3,100 × (8% − 2%) = 186.
    assert search.extra_customers == pytest.approx(186)
    assert search.significant
    assert 'id="benchmark-charts"' in html
    assert 'id="mix-chart"' in html
    assert "<script>" not in html  # no inline scripts: the CSP forbids them


def test_comparison_fragment_and_history_restore(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)

    address = reverse("benchmarks:comparison", args=[store.slug])
    query = {"granularity": "month", "period": "2026-10-01"}

    fragment = client.get(address, query, headers={"HX-Request": "true"})
    restored = client.get(address, query, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" not in fragment.content.decode()
    assert "HX-Push-Url" in fragment
    assert "<html" in restored.content.decode()
    assert "HX-Push-Url" not in restored


def test_advice_line_reads_plainly(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    response = page(client, store, granularity="month", period="2026-10-01")

    advice = response.context["comparison"].advice
    assert advice[0] == (
        "Search converts at 25% of the top-store rate on 3,100 visitors: "
        "about 186 more feedback customers a month at their rate."
    )


def test_no_page_or_export_names_a_peer(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)
    query = {"granularity": "month", "period": "2026-10-01"}

    outputs = [
        page(client, store, **query).content.decode(),
        client.get(reverse("benchmarks:export_csv", args=[store.slug]), query).content.decode("utf-8-sig"),
        client.get(f"/api/v1/stores/{store.slug}/benchmarks", query).content.decode(),
    ]
    xlsx = client.get(reverse("benchmarks:export_xlsx", args=[store.slug]), query).content
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        outputs.append("".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist()))

    for output in outputs:
        assert PEER_PREFIX not in output
        assert "Peer secretpeer" not in output


def test_page_without_published_baseline(client, owner, store, own_figures, industry):
    client.force_login(owner)

    response = page(client, store, granularity="month")

    assert response.status_code == 200
    assert response.context["comparison"] is None


def test_non_contributing_store_sees_no_baselines(client, owner, store, published_cohort, own_figures):
    StoreSharing.objects.create(store=store, contributes=False)
    client.force_login(owner)

    response = page(client, store, granularity="month")

    assert response.context["comparison"] is None
    assert not response.context["may_view"]
    api = client.get(f"/api/v1/stores/{store.slug}/benchmarks")
    assert api.status_code == 403


def test_owner_turns_sharing_off(client, owner, store):
    client.force_login(owner)

    response = client.post(reverse("benchmarks:sharing", args=[store.slug]), {})

    assert response.status_code == 302
    assert StoreSharing.objects.get(store=store).contributes is False


def test_csv_has_bom_and_neutralised_cells(client, owner, store, published_cohort, own_figures):
    store.name = "=HYPERLINK(\"http://example.com\")"
    store.save()
    client.force_login(owner)

    response = client.get(reverse("benchmarks:export_csv", args=[store.slug]), {"granularity": "month"})

    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r", "\n"])
def test_neutralise_formula_prefixes(prefix):
    assert neutralise(f"{prefix}1+1") == f"'{prefix}1+1"


def test_neutralise_leaves_numbers():
    assert neutralise(-0.5) == -0.5
    assert neutralise("Search") == "Search"


def test_xlsx_export_opens(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)

    response = client.get(reverse("benchmarks:export_xlsx", args=[store.slug]), {"granularity": "month"})

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "xl/worksheets/sheet1.xml" in archive.namelist()


def test_api_returns_baselines(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)

    response = client.get(f"/api/v1/stores/{store.slug}/benchmarks", {"granularity": "month", "period": "2026-10-01"})

    body = response.json()
    assert response.status_code == 200
    assert body["baseline"]["cohort_size"] == 10
    search = next(row for row in body["baseline"]["sources"] if row["source"] == "search")
    assert search["feedback_conversion_rate_baseline"]["top_median"] == pytest.approx(0.08)
    assert search["gap_is_significant"] is True
    assert body["baseline"]["total_visitors_from"] == "total_row"


def test_api_rejects_bad_filters(client, owner, store):
    client.force_login(owner)

    assert client.get(f"/api/v1/stores/{store.slug}/benchmarks", {"granularity": "day"}).status_code == 400
    assert client.get(f"/api/v1/stores/{store.slug}/benchmarks", {"terminal": "tv"}).status_code == 400
    assert client.get(f"/api/v1/stores/{store.slug}/benchmarks", {"period": "2020-01-01"}).status_code == 400


def test_api_with_token(client, store, published_cohort, own_figures):
    from accounts.tokens import create_token

    _token, secret = create_token(store, "bench")

    response = client.get(
        f"/api/v1/stores/{store.slug}/benchmarks", {"granularity": "month"}, HTTP_AUTHORIZATION=f"Bearer {secret}"
    )

    assert response.status_code == 200


def test_comparison_page_query_count(client, owner, store, published_cohort, own_figures):
    client.force_login(owner)
    page(client, store, granularity="month")

    with CaptureQueriesContext(connection) as queries:
        page(client, store, granularity="month")

    assert len(queries) <= 25


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)


def test_staff_recompute_runs_task(client, staff, industry, django_capture_on_commit_callbacks):
    for i in range(1, 12):
        make_peer(industry, i, 100 * i, i, total_visitors=200 * i)
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("benchmarks:staff_recompute"), {"granularity": "month", "period": "2026-10-17"})

    run = BenchmarkRun.objects.get()
    assert response.status_code == 302
    assert run.status == BenchmarkRun.Status.SUCCEEDED
    assert run.period_start == datetime.date(2026, 10, 1)
    assert run.cohorts_total == run.cohorts_done == 1

    progress = client.get(reverse("benchmarks:staff_run", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'data-status="succeeded"' in progress.content.decode()
    assert "hx-trigger" not in progress.content.decode()


def test_staff_publish_and_unpublish(client, staff, industry):
    for i in range(1, 11):
        make_peer(industry, i, 100 * i, i * i, total_visitors=200 * i)
    method = MethodSettings.current()
    method.top_rule, method.top_value = "count", 5
    method.save()
    run = recompute(publish=False)
    client.force_login(staff)

    client.post(reverse("benchmarks:staff_run_publish", args=[run.pk]))
    snapshot = BaselineSnapshot.objects.get(terminal="all", region="all")
    assert snapshot.is_published

    client.post(reverse("benchmarks:staff_snapshot_unpublish", args=[snapshot.pk]))
    snapshot.refresh_from_db()
    assert not snapshot.is_published


def test_staff_method_refuses_threshold_below_setting(client, staff):
    client.force_login(staff)
    data = {
        "method-min_cohort_size": 3, "method-min_top_group_size": 5, "method-max_dominant_percent": 50,
        "method-ranking_metric": "feedback_customers", "method-top_rule": "percent", "method-top_value": 10,
        "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0,
    }

    response = client.post(reverse("benchmarks:staff_method"), data)

    assert response.status_code == 200
    assert MethodSettings.current().min_cohort_size == 10


def test_staff_assigns_industry(client, staff, store, industry):
    from accounts.models import Industry

    lighting = Industry.objects.create(code="lighting", name_zh="照明", name_en="Lighting")
    client.force_login(staff)

    client.post(reverse("benchmarks:staff_stores"), {"stores": [store.pk], "industry": lighting.pk})

    store.refresh_from_db()
    assert store.main_industry == lighting


def test_staff_creates_industry(client, staff):
    from accounts.models import Industry

    client.force_login(staff)

    client.post(reverse("benchmarks:staff_industries"), {"code": "furniture", "name_zh": "家具", "name_en": "Furniture"})

    assert Industry.objects.filter(code="furniture").exists()


def test_peer_figure_csv_upload(client, staff, industry, store, published_cohort, own_figures):
    client.force_login(staff)
    content = (
        "industry,period,terminal,region,source,metric,peer_average,peer_top\n"
        "consumer-electronics,2026-10,all,all,search,feedback_conversion_rate,3.5%,7.2%\n"
        "consumer-electronics,2026-10,all,all,搜索,访客数,\"1,408\",--\n"
    ).encode("utf-8-sig")
    upload = io.BytesIO(content)
    upload.name = "peers.csv"

    client.post(reverse("benchmarks:staff_peer_figures"), {"file": upload})

    rate = PeerFigure.objects.get(metric="feedback_conversion_rate")
    assert rate.peer_average == pytest.approx(0.035)
    assert rate.peer_top == pytest.approx(0.072)
    visitors = PeerFigure.objects.get(metric="visitors")
    assert visitors.peer_average == 1408
    assert visitors.peer_top is None


def test_peer_figures_shown_apart(client, owner, store, published_cohort, own_figures, industry):
    PeerFigure.objects.create(
        industry=industry, origin="staff_upload", granularity="month", period_start=MONTH, terminal="all",
        region="all", source="search", metric="feedback_conversion_rate", peer_average=0.035, peer_top=0.072,
    )
    client.force_login(owner)

    response = page(client, store, granularity="month", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert 'id="peer-figures"' in html
    assert "3.50%" in html
    assert "7.20%" in html


def test_peer_figure_csv_rejects_bad_rows(client, staff, industry):
    client.force_login(staff)
    upload = io.BytesIO(
        b"industry,period,terminal,region,source,metric,peer_average,peer_top\n"
        b"nope,2026-10,all,all,search,visitors,1,2\n"
        b"consumer-electronics,2026-10,tv,all,search,visitors,1,2\n"
    )
    upload.name = "bad.csv"

    response = client.post(reverse("benchmarks:staff_peer_figures"), {"file": upload})

    assert len(response.context["problems"]) == 2
    assert PeerFigure.objects.count() == 0


def test_unmapped_labels_listed(client, staff, store, other_store):
    for owner_store in (store, other_store):
        add_figure(make_upload(owner_store), "other", 120, raw_label="直播会场")
    client.force_login(staff)

    response = client.get(reverse("benchmarks:staff_unmapped"))

    labels = list(response.context["labels"])
    assert labels[0]["raw_label"] == "直播会场"
    assert labels[0]["stores"] == 2
    assert labels[0]["visitors"] == 240


def test_snapshot_preview_marks_hidden_values(client, staff, industry):
    for i in range(1, 10):
        make_peer(industry, i, 100 * i, i, total_visitors=200 * i)
    run = recompute(publish=False)
    client.force_login(staff)

    response = client.get(reverse("benchmarks:staff_snapshot", args=[run.snapshots.first().pk]))

    assert response.context["hidden_count"] == len(response.context["values"])
    assert "hidden-value" in response.content.decode()


def test_seed_benchmarks_twice(industry):
    from django.core.management import call_command

    from accounts.models import Store

    call_command("seed_benchmarks", stores=50, periods=1)
    call_command("seed_benchmarks", stores=50, periods=1)

    assert Store.objects.filter(slug__startswith="peer-demo-").count() == 100
    assert StoreSharing.objects.filter(is_demo=True, contributes=True).count() == 100
    assert not Store.objects.filter(slug__startswith="peer-demo-", memberships__isnull=False).exists()
    assert BaselineSnapshot.objects.filter(published_at__isnull=False, unpublished_at__isnull=True).exists()
