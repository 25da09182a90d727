"""The portal's key-file credentials against the local provider: `idp service-key` writes
Zitadel's key file, the JWT profile grant gives a token, and the Zitadel API accepts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from aidial_portal.identity.service_credentials import JwtProfileCredentials, load_service_key
from aidial_portal.identity.zitadel import ZitadelEvidenceReader
from aidial_portal.mfa.evidence import Source
from tests.support.idp import REPO_ROOT, LocalIdp

pytestmark = pytest.mark.idp


@pytest.fixture(scope="module")
def key_path(local_idp: LocalIdp, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("service-key") / "portal-service-user.json"
    made = local_idp.cli("service-key", "--out", str(out))
    return Path(made["path"])


def credentials(idp: LocalIdp, path: Path) -> JwtProfileCredentials:
    discovery = httpx.get(idp.url("/.well-known/openid-configuration"), timeout=10).json()
    return JwtProfileCredentials(
        load_service_key(path),
        issuer=idp.issuer,
        token_endpoint=lambda: discovery["token_endpoint"],
    )


def test_a_key_file_from_the_provider_reads_a_persons_enrolment(
    local_idp: LocalIdp, key_path: Path
) -> None:
    who = local_idp.new_person("partner_admin", totp=True, domain="service-key.test")
    reader = ZitadelEvidenceReader(
        local_idp.issuer, credentials(local_idp, key_path), mode=Source.AMR
    )

    evidence = reader.read(sid=None, sub=who.user_id, amr=["pwd"], auth_time=None)

    assert evidence.unavailable is None
    assert evidence.totp_enrolled is True
    reader.close()


def test_the_portal_starts_with_the_providers_key_file_and_never_prints_it(
    local_idp: LocalIdp, key_path: Path, tmp_path: Path
) -> None:
    key_text = load_service_key(key_path).private_key.as_pem(private=True).decode()
    env: dict[str, Any] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "AIDIAL_OIDC_ISSUER": local_idp.issuer,
        "AIDIAL_ZITADEL_SERVICE_KEY_FILE": str(key_path),
        # A deployment names its project, or `check --deploy` refuses it (E016).
        "AIDIAL_ZITADEL_PROJECT_ID": local_idp.project_id(),
        "AIDIAL_LOG_LEVEL": "DEBUG",
    }
    env.pop("AIDIAL_ZITADEL_SERVICE_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "aidial_portal.cli", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "refused AIDIAL_ZITADEL_SERVICE_KEY_FILE" not in output
    assert "No access token could be had" not in output
    assert "aidial.E012" not in output
    assert "aidial.E030" not in output
    for line in key_text.splitlines()[1:-1]:
        assert line not in output
