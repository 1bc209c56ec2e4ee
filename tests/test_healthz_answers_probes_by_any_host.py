"""A load balancer probes each instance by its address (GET http://10.0.0.5:8000/healthz), a host that is in
no ALLOWED_HOSTS: /healthz answers it all the same, with the health check and nothing more, and logs no
DisallowedHost traceback; every other path still refuses that host."""

from __future__ import annotations

import logging

import pytest

PROBE_HOST = "10.0.0.5:8000"


@pytest.fixture
def deployed(settings):
    """As in production: debug off, one public host name."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["gatehouse.example.com"]


def test_healthz_answers_a_probe_by_ip_address_without_logging_a_traceback(client, db, deployed, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", HTTP_HOST=PROBE_HOST)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok", "redis": "ok"}
    assert "no-cache" in response["Cache-Control"]  # still the health view, never cached
    assert [record for record in caplog.records if record.name.startswith("django.security")] == []


def test_healthz_reports_a_failure_to_a_probe_by_ip_address_too(client, db, deployed, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz", HTTP_HOST=PROBE_HOST)

    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


def test_healthz_answers_the_allowed_host_as_before(client, db, deployed):
    assert client.get("/healthz", HTTP_HOST="gatehouse.example.com").status_code == 200


@pytest.mark.parametrize("path", ["/", "/login/", "/healthz/", "/healthzz", "/api/runs", "/admin/login/"])
def test_every_other_path_still_refuses_a_host_outside_allowed_hosts(client, db, deployed, path):
    assert client.get(path, HTTP_HOST=PROBE_HOST).status_code == 400
    assert client.get(path, HTTP_HOST="evil.example.net").status_code == 400


def test_only_get_and_head_are_answered_for_a_foreign_host(client, db, deployed):
    # Some load balancers probe with HEAD: the status without the body.
    head = client.head("/healthz", HTTP_HOST=PROBE_HOST)
    assert head.status_code == 200 and head.content == b""
    # The health view takes nothing else; a POST by a foreign host gets no further than that.
    assert client.post("/healthz", HTTP_HOST=PROBE_HOST).status_code == 405
