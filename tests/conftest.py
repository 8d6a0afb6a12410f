"""Shared people and stores: an owner, an analyst and a viewer of one store, and an outsider who owns another."""

from pathlib import Path

import pytest

from accounts.models import Industry, Membership, Store, User

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def samples_dir():
    return SAMPLES


@pytest.fixture(autouse=True)
def upload_root(settings, tmp_path):
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    return settings.UPLOAD_ROOT


@pytest.fixture
def industry(db):
    return Industry.objects.create(code="consumer-electronics", name_zh="消费电子", name_en="Consumer electronics")


@pytest.fixture
def store(industry):
    return Store.objects.create(name="Shenzhen Solar Co.", slug="solar", main_industry=industry)


@pytest.fixture
def other_store(industry):
    return Store.objects.create(name="Ningbo Lamps Co.", slug="lamps", main_industry=industry)


def _member(email, store, role):
    user = User.objects.create_user(email=email, password=PASSWORD)
    Membership.objects.create(user=user, store=store, role=role)
    return user


@pytest.fixture
def owner(store):
    return _member("owner@example.com", store, Membership.Role.OWNER)


@pytest.fixture
def analyst(store):
    return _member("analyst@example.com", store, Membership.Role.ANALYST)


@pytest.fixture
def viewer(store):
    return _member("viewer@example.com", store, Membership.Role.VIEWER)


@pytest.fixture
def outsider(other_store):
    return _member("outsider@example.com", other_store, Membership.Role.OWNER)
