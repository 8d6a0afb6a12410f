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
