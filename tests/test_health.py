from unittest import mock

import pytest
from django.db import OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_ok(client):
    with mock.patch("config.health.check_broker", return_value="ok"):
        response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_reports_broken_broker(client):
    with mock.patch("config.health.check_broker", side_effect=ConnectionRefusedError("no broker")):
        response = client.get(reverse("health"))

    assert response.status_code == 503
    assert response.json()["broker"] == "error: ConnectionRefusedError"
    assert response.json()["database"] == "ok"


def test_health_reports_broken_database(client):
    with mock.patch("config.health.check_database", side_effect=OperationalError("gone")):
        with mock.patch("config.health.check_broker", return_value="ok"):
            response = client.get(reverse("health"))

    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


def test_health_checks_real_broker(client):
    """With the default folder broker (or Redis when REDIS_URL is set) the real check passes."""
    response = client.get(reverse("health"))

    assert response.json()["broker"] == "ok"
