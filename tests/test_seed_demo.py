from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F

from accounts.models import Membership, Store, User
from traffic.models import TrafficFigure

pytestmark = pytest.mark.django_db


def seed(*args):
    out = StringIO()
    call_command("seed_demo", "--days", "21", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_creates_merchant_and_stores():
    output = seed()

    user = User.objects.get(email="demo@example.com")
    assert user.check_password("demo-password-2026")
    assert "demo-password-2026" in output
    assert Store.objects.count() == 3
    assert Store.objects.values("main_industry").distinct().count() == 2
    assert Membership.objects.filter(user=user, role="owner").count() == 3


def test_seed_demo_covers_every_dimension():
    seed()

    figures = TrafficFigure.objects.filter(is_current=True)
    assert set(figures.values_list("granularity", flat=True)) == {"day", "week"}
    assert set(figures.values_list("terminal", "region").distinct()) == {
        (terminal, region) for terminal in ("all", "pc", "wireless") for region in ("all", "exclude_cn")
    }
    assert figures.filter(source="total").exists()
    assert figures.exclude(sub_source="").exists()


def test_seed_demo_figures_are_consistent():
    seed()

    figures = TrafficFigure.objects.all()
    assert not figures.filter(inquiry_customers__gt=F("visitors")).exists()
    assert not figures.filter(tm_customers__gt=F("visitors")).exists()
    assert not figures.filter(visitors__isnull=True).exists()


def test_seed_demo_twice_changes_nothing():
    seed()
    count = TrafficFigure.objects.count()

    output = seed()

    assert TrafficFigure.objects.count() == count
    assert User.objects.filter(email="demo@example.com").count() == 1
    assert Store.objects.count() == 3
    assert output.count("\n") == 4


def test_seed_demo_refresh_regenerates_same_figures():
    seed()
    before = sorted(TrafficFigure.objects.values_list("store_id", "granularity", "period_start", "terminal", "region", "source", "sub_source", "visitors"))

    seed("--refresh")

    after = sorted(TrafficFigure.objects.values_list("store_id", "granularity", "period_start", "terminal", "region", "source", "sub_source", "visitors"))
    assert after == before


def test_seed_demo_parents_cover_children():
    seed()

    for parent in TrafficFigure.objects.filter(sub_source="", source="search", granularity="day")[:200]:
        children = TrafficFigure.objects.filter(
            store=parent.store, granularity="day", period_start=parent.period_start, terminal=parent.terminal,
            region=parent.region, source="search",
        ).exclude(sub_source="")
        assert parent.inquiry_customers <= sum(child.inquiry_customers for child in children)
        assert parent.tm_customers <= sum(child.tm_customers for child in children)


def test_seed_demo_keeps_inquiries_outside_mainland():
    seed()

    outside = TrafficFigure.objects.filter(region="exclude_cn", source="total", granularity="day")
    assert sum(figure.inquiry_customers for figure in outside) > 0
