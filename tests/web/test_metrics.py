"""/metrics: who may read it, what a fresh instance exports, and request metrics per view."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from prometheus_client import REGISTRY

from aidial_portal import config, metrics
from tests.support.idp import free_loopback_port

TOKEN = "metrics-token-for-tests"


def scrape(client, **headers):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_a_fresh_instance_exports_every_family_at_zero():
    code = (
        "import django; django.setup(); "
        "from prometheus_client import generate_latest; print(generate_latest().decode())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    for sample in (
        'aidial_sign_ins_total{result="signed_in"} 0.0',
        'aidial_sign_ins_total{result="state_invalid"} 0.0',
        'aidial_gate_denials_total{reason="not_enrolled"} 0.0',
        'aidial_sessions_ended_total{reason="absolute"} 0.0',
        'aidial_provider_api_errors_total{reason="provider_unreachable"} 0.0',
        "aidial_recovery_code_sign_ins_total 0.0",
        'aidial_requests_total{status="2xx",view="help"} 0.0',
    ):
        assert sample in out, sample


@pytest.mark.django_db
def test_requests_are_counted_by_view_name_and_status_class(client, portal_config):
    portal_config(metrics_token=TOKEN)

    def count(view, status):
        labels = {"view": view, "status": status}
        return REGISTRY.get_sample_value("aidial_requests_total", labels) or 0.0

    before = count("help", "2xx"), count("unmatched", "4xx")
    client.get("/help/")
    client.get("/no-such-page/")

    assert count("help", "2xx") == before[0] + 1
    assert count("unmatched", "4xx") == before[1] + 1
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert 'aidial_requests_total{status="2xx",view="help"}' in text
    assert "aidial_request_seconds_bucket" in text


def test_metrics_listen_must_be_a_loopback_address():
    assert config.from_env({"AIDIAL_METRICS_LISTEN": "127.0.0.1:9102"}).metrics_listen == (
        "127.0.0.1",
        9102,
    )
    for bad in ("0.0.0.0:9102", "10.0.0.5:9102", "127.0.0.1", "127.0.0.1:http", "[::1]:99999"):
        with pytest.raises(config.ConfigError, match="AIDIAL_METRICS_LISTEN"):
            config.from_env({"AIDIAL_METRICS_LISTEN": bad})


@pytest.mark.django_db
def test_with_metrics_listen_the_separate_loopback_port_serves_them(client, portal_config):
    port = free_loopback_port()
    portal_config(metrics_listen=("127.0.0.1", port))
    server = metrics.serve_on_loopback(("127.0.0.1", port))
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 200
    assert "aidial_gate_denials_total" in response.text
    # The portal's own port does not serve them without the token.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
