"""Start-up validation: dangerous settings stop start-up with a clear message."""

from dataclasses import replace

import pytest
from django.core import checks

from aidial_portal import config


def messages(settings, **changes):
    settings.AIDIAL = replace(settings.AIDIAL, **changes)
    return {message.id: message.msg for message in checks.run_checks()}


def test_a_clean_configuration_passes(settings):
    assert not [m for m in messages(settings) if m.startswith("aidial.")]


def test_no_secret_key_outside_debug_stops_start_up(settings):
    settings.SECRET_KEY = ""
    settings.DEBUG = False
    assert "AIDIAL_SECRET_KEY is not set." in messages(settings).values()


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/ui/console/users/me?id=security",
        "http://127.0.0.1:9999/ui/console/users/me?id=security",  # another origin
        "http://user@127.0.0.1:8080/ui/console/users/me?id=security",
    ],
)
def test_provider_pages_off_the_issuer_origin_stop_start_up(settings, url):
    found = messages(settings, security_url=url)
    assert "aidial.E003" in found
    assert "AIDIAL_PROVIDER_SECURITY_URL" in found["aidial.E003"]


def test_plain_http_issuer_is_allowed_only_on_loopback(settings):
    found = messages(
        settings,
        issuer="http://auth.example.com",
        security_url="http://auth.example.com/ui/console/users/me?id=security",
        management_url="http://auth.example.com/ui/console/users/me?id=security",
    )
    assert "aidial.E002" in found


@pytest.mark.parametrize(
    "url", ["http://zitadel.example.com", "ftp://127.0.0.1", "https://user:pw@api.example.com"]
)
def test_a_zitadel_api_url_that_is_not_https_stops_start_up(settings, url):
    found = messages(settings, api_url=url)
    assert "AIDIAL_ZITADEL_API_URL" in found["aidial.E005"]


def test_plain_http_zitadel_api_is_allowed_on_loopback(settings):
    assert "aidial.E005" not in messages(settings, api_url="http://localhost:8080")


def test_amr_mode_without_service_credentials_stops_start_up(settings):
    found = messages(settings, evidence_mode=config.Source.AMR, service_token="")
    assert "partner_admin" in found["aidial.E015"]
    assert "aidial.E015" not in messages(
        settings, evidence_mode=config.Source.AMR, service_token="a-token"
    )


def test_amr_mode_without_credentials_is_allowed_when_no_role_requires_mfa(settings):
    everything_optional = dict.fromkeys(
        ("partner_admin", "aidial_admin", "aidial_operator"), "optional"
    )
    found = messages(
        settings,
        evidence_mode=config.Source.AMR,
        service_token="",
        role_table=everything_optional,
    )
    assert "aidial.E015" not in found


def test_a_deployment_without_the_project_id_is_reported(settings):
    settings.AIDIAL = replace(settings.AIDIAL, project_id="")
    found = {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}
    assert "AIDIAL_ZITADEL_PROJECT_ID" in found["aidial.E016"]
    settings.AIDIAL = replace(settings.AIDIAL, project_id="312000000000000100")
    found = {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}
    assert "aidial.E016" not in found


def test_a_policy_naming_an_unknown_requirement_stops_start_up(settings):
    found = messages(settings, role_table={"client_admin": "sometimes"})
    assert "aidial.E004" in found
    assert "sometimes" in found["aidial.E004"]


def test_making_a_mandatory_role_optional_is_warned(settings):
    assert "aidial.W001" in messages(settings, role_table={"partner_admin": "optional"})


def test_environment_parsing_names_the_bad_variable():
    with pytest.raises(ValueError, match="AIDIAL_MFA_MAX_AGE"):
        config.from_env({"AIDIAL_MFA_MAX_AGE": "twelve hours"})
    with pytest.raises(ValueError, match="AIDIAL_MFA_EVIDENCE"):
        config.from_env({"AIDIAL_MFA_EVIDENCE": "sms"})
    parsed = config.from_env(
        {
            "AIDIAL_OIDC_EXTRA_AUDIENCES": " 123 , 456 ",
            "AIDIAL_ROLE_POLICY": "auditor:required",
            "AIDIAL_OIDC_ISSUER": "https://auth.example.com/",
        }
    )
    assert parsed.extra_audiences == frozenset({"123", "456"})
    assert parsed.role_table == {"auditor": "required"}
    assert parsed.security_url == "https://auth.example.com/ui/console/users/me?id=security"


def test_unknown_factor_or_level_names_stop_start_up_naming_the_variable():
    with pytest.raises(config.ConfigError, match=r"AIDIAL_ACCEPTED_FACTORS.*'fingerprint'"):
        config.from_env({"AIDIAL_ACCEPTED_FACTORS": "totp,fingerprint"})
    with pytest.raises(config.ConfigError, match=r"AIDIAL_ROLE_LEVELS.*'strong'"):
        config.from_env({"AIDIAL_ROLE_LEVELS": "aidial_admin:strong"})
    with pytest.raises(config.ConfigError, match="AIDIAL_ROLE_LEVELS"):
        config.from_env({"AIDIAL_ROLE_LEVELS": "aidial_admin"})
    parsed = config.from_env(
        {
            "AIDIAL_ACCEPTED_FACTORS": "totp, recovery_code, passkey",
            "AIDIAL_ROLE_LEVELS": "aidial_admin:phishing_resistant",
        }
    )
    assert parsed.accepted_factors == {"totp", "recovery_code", "passkey"}
    assert parsed.role_levels == {"aidial_admin": "phishing_resistant"}
    assert config.from_env({}).accepted_factors == {"totp", "recovery_code"}


def test_a_phishing_resistant_level_in_amr_mode_stops_start_up(settings):
    found = messages(
        settings,
        evidence_mode=config.Source.AMR,
        service_token="a-token",
        accepted_factors=frozenset({config.Factor.TOTP, config.Factor.PASSKEY}),
        role_levels={"aidial_admin": config.Level.PHISHING_RESISTANT},
    )
    assert "AIDIAL_MFA_EVIDENCE=amr" in found["aidial.E040"]
    assert "aidial_admin" in found["aidial.E040"]
    assert "aidial.W040" in found


def test_a_level_no_accepted_factor_can_meet_stops_start_up(settings):
    found = messages(settings, role_levels={"aidial_admin": config.Level.PHISHING_RESISTANT})
    assert "AIDIAL_ACCEPTED_FACTORS" in found["aidial.E041"]
    assert "aidial.E041" not in messages(
        settings,
        accepted_factors=frozenset({config.Factor.TOTP, config.Factor.SECURITY_KEY}),
        role_levels={"aidial_admin": config.Level.PHISHING_RESISTANT},
    )


def test_a_deployment_without_a_way_to_read_metrics_is_warned(settings):
    settings.AIDIAL = replace(settings.AIDIAL, debug=False, metrics_token="", metrics_listen=None)
    found = {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}
    assert "AIDIAL_METRICS_TOKEN" in found["aidial.W042"]
    settings.AIDIAL = replace(settings.AIDIAL, metrics_listen=("127.0.0.1", 9102))
    found = {m.id for m in checks.run_checks(include_deployment_checks=True)}
    assert "aidial.W042" not in found


def test_a_deployment_without_the_actions_signing_key_is_warned(settings):
    settings.AIDIAL = replace(settings.AIDIAL, actions_signing_key="")
    found = {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}
    assert "AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY" in found["aidial.W011"]
    settings.AIDIAL = replace(settings.AIDIAL, actions_signing_key="key")
    found = {m.id: m.msg for m in checks.run_checks(include_deployment_checks=True)}
    assert "aidial.W011" not in found


def test_the_actions_signing_key_is_not_a_start_up_matter(settings):
    # The portal starts without it (the warning is for `check --deploy`).
    assert "aidial.W011" not in messages(settings, actions_signing_key="")


def test_the_actions_signing_key_never_appears_in_the_settings_repr():
    parsed = config.from_env({"AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY": "s3cret-signing-key"})
    assert parsed.actions_signing_key == "s3cret-signing-key"
    assert "s3cret-signing-key" not in repr(parsed)
