import pytest

from tests.support.idp import free_loopback_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_session_or_provider(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_says_the_provider_is_missing(client, portal_config):
    portal_config(issuer=f"http://127.0.0.1:{free_loopback_port()}")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "cache": "ok", "provider": "unavailable"}


def test_sign_in_page_is_public(client):
    response = client.get("/login/?next=/settings/")
    assert response.status_code == 200
    assert b'name="next" value="/settings/"' in response.content


def test_sign_in_with_the_provider_down_is_a_plain_503(client, portal_config):
    portal_config(issuer=f"http://127.0.0.1:{free_loopback_port()}")
    response = client.post("/login/")
    assert response.status_code == 503
    assert b"The identity provider is unavailable" in response.content
    assert b"Traceback" not in response.content


def test_metrics_need_the_token_outside_debug(client, portal_config):
    # A same-host proxy that adds no forwarding header (nginx's default proxy_pass) looks
    # like a loopback peer: outside debug, only the token opens /metrics.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    portal_config(metrics_token="metrics-token-for-tests")
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    allowed = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests"
    )
    assert allowed.status_code == 200
    assert b"aidial_gate_denials_total" in allowed.content


def test_in_debug_metrics_answer_a_loopback_peer(client, portal_config):
    portal_config(debug=True)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_unknown_page_reads_like_a_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We couldn't find that page" in response.content
    assert b"Sign out" not in response.content  # signed out: no signed-in navigation


def test_a_signed_in_404_keeps_the_navigation_and_sign_out(client, sign_in_as):
    sign_in_as(["client_staff"])
    html = client.get("/no-such-page/").content.decode()
    assert "We couldn't find that page" in html
    assert 'aria-label="Main"' in html
    assert "Sign out</button>" in html


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
        {"HTTP_X_FORWARDED_HOST": "portal.example.com"},
    ],
)
def test_metrics_without_a_token_refuse_a_request_forwarded_by_a_local_proxy(
    client, header, portal_config
):
    portal_config(debug=True)
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **header).status_code == 403
