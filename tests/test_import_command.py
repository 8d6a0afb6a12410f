import pytest
from django.core.management import CommandError, call_command

from traffic.models import TrafficFigure, Upload

pytestmark = pytest.mark.django_db


def run(*args):
    from io import StringIO

    out = StringIO()
    call_command("import_traffic", *args, stdout=out)
    return out.getvalue()


def test_command_imports_files(store, samples_dir):
    output = run("--store", store.slug, str(samples_dir / "traffic-source_week_2026-11-02_all_gbk.csv"))

    assert "traffic-source_week_2026-11-02_all_gbk.csv" in output
    assert Upload.objects.get().status == Upload.Status.SUCCEEDED
    assert TrafficFigure.objects.get(source="total").visitors == 4169


def test_command_options_override_file(store, samples_dir):
    run("--store", store.slug, "--terminal", "pc", "--region", "exclude_cn",
        str(samples_dir / "traffic-source_month_2026-10_wireless.xls"))

    assert set(TrafficFigure.objects.values_list("terminal", "region")) == {("pc", "exclude_cn")}


def test_command_fails_on_bad_file_and_continues(store, samples_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    good = samples_dir / "traffic-source_week_2026-11-02_all_gbk.csv"

    with pytest.raises(CommandError) as excinfo:
        run("--store", store.slug, str(bad), str(good))

    assert excinfo.value.returncode == 1
    assert Upload.objects.filter(status=Upload.Status.SUCCEEDED).count() == 1
    assert Upload.objects.filter(status=Upload.Status.FAILED).count() == 1


def test_command_missing_file(store, tmp_path):
    with pytest.raises(CommandError):
        run("--store", store.slug, str(tmp_path / "missing.csv"))

    assert not Upload.objects.exists()


def test_command_unknown_store(samples_dir):
    with pytest.raises(CommandError):
        run("--store", "nope", str(samples_dir / "traffic-source_week_2026-11-02_all_gbk.csv"))


def test_command_same_file_twice(store, samples_dir):
    path = str(samples_dir / "traffic-source_week_2026-11-02_all_gbk.csv")
    run("--store", store.slug, path)

    output = run("--store", store.slug, path)

    assert Upload.objects.count() == 1
    assert str(Upload.objects.get().id) in output


NO_TITLE_REPORT = "流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n搜索,100,3,2\n直接访问,40,1,0\n"


def test_command_period_for_file_without_title(store, tmp_path):
    path = tmp_path / "no-title.csv"
    path.write_text(NO_TITLE_REPORT, encoding="utf-8")

    run("--store", store.slug, "--period", "2026-11-16~2026-11-22", str(path))

    search = TrafficFigure.objects.get(source="search")
    assert (search.granularity, str(search.period_start), search.visitors) == ("week", "2026-11-16", 100)


def test_command_without_period_rejects_untitled_report(store, tmp_path):
    path = tmp_path / "no-title.csv"
    path.write_text(NO_TITLE_REPORT, encoding="utf-8")

    with pytest.raises(CommandError):
        run("--store", store.slug, str(path))

    assert Upload.objects.get().status == Upload.Status.FAILED
    assert not TrafficFigure.objects.exists()


def test_command_rejects_malformed_period(store, tmp_path):
    path = tmp_path / "no-title.csv"
    path.write_text(NO_TITLE_REPORT, encoding="utf-8")

    with pytest.raises(CommandError):
        run("--store", store.slug, "--period", "last week", str(path))

    assert not Upload.objects.exists()


def test_command_period_bounds_trend_dates(store, tmp_path):
    path = tmp_path / "trend.csv"
    path.write_text("日期,流量渠道,店铺访问人数,店内询盘人数,店内TM咨询人数\n2026-11-03,搜索,10,1,0\n2026-11-30,搜索,12,0,0\n", encoding="utf-8")

    with pytest.raises(CommandError):
        run("--store", store.slug, "--period", "2026-11-02~2026-11-08", str(path))

    upload = Upload.objects.get()
    assert upload.status == Upload.Status.FAILED
    assert upload.messages[0]["row"] == 3
    assert upload.messages[0]["value"]
