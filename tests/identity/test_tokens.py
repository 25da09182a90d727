"""The ID-token validator: every refusal has a test naming its reason code."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws, jwt
from joserfc.jwk import KeySet, RSAKey

from aidial_portal.identity.tokens import (
    MAX_TOKEN_LENGTH,
    IdTokenRejected,
    TokenPolicy,
    TokenRejected,
    id_token_claims,
    verify_signed,
)

from .provider import (
    CLIENT_ID,
    DROP,
    ISSUER,
    NONCE,
    NOW,
    POLICY,
    PROJECT_ID,
    SUBJECT,
    FakeKeys,
    claims,
    ec_key,
    mint,
    public,
    signing_key,
    unsigned,
)


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys(public(signing_key("key-1")))


def validate(
    token: str,
    keys: FakeKeys,
    *,
    policy: TokenPolicy = POLICY,
    nonce: str = NONCE,
    now: float = NOW,
) -> dict[str, Any]:
    return id_token_claims(token, policy=policy, nonce=nonce, keys=keys, now=now)


def refused(token: Any, keys: FakeKeys, **options: Any) -> str:
    with pytest.raises(IdTokenRejected) as caught:
        validate(token, keys, **options)
    # Reason codes only: never the token, a claim value or a key in the message.
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def _without(key: RSAKey, parameter: str, *, private: bool = False) -> RSAKey:
    values = {k: v for k, v in key.as_dict(private=private).items() if k != parameter}
    return RSAKey.import_key(values)


# -- the good path ---------------------------------------------------------------------------


def test_zitadel_shaped_token_is_accepted_and_its_claims_returned(keys: FakeKeys) -> None:
    result = validate(mint(), keys)

    assert result["sub"] == SUBJECT
    assert result["amr"] == ["pwd", "otp", "mfa"]
    assert keys.refresh_calls == 0


def test_single_audience_without_azp_is_accepted(keys: FakeKeys) -> None:
    assert validate(mint(claims(aud=CLIENT_ID, azp=DROP)), keys)["aud"] == CLIENT_ID


def test_token_without_kid_is_accepted_when_the_provider_publishes_one_key(
    keys: FakeKeys,
) -> None:
    assert validate(mint(kid=DROP, key=signing_key("key-1")), keys)["sub"] == SUBJECT


def test_unregistered_header_is_ignored(keys: FakeKeys) -> None:
    assert validate(mint(x_vendor="anything"), keys)["sub"] == SUBJECT


# -- policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"leeway": 61},
        {"leeway": -1},
        {"algorithms": ()},
        {"algorithms": ("none",)},
        {"algorithms": ("HS256",)},
        {"algorithms": ("RS256", "HS512")},
        {"algorithms": ("XX999",)},
        {"issuer": ""},
        {"client_id": ""},
    ],
)
def test_dangerous_policy_is_refused_at_start_up(changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {"issuer": ISSUER, "client_id": CLIENT_ID, **changes}
    with pytest.raises(ValueError, match="TokenPolicy"):
        TokenPolicy(**values)


def test_sixty_seconds_of_leeway_is_the_most_allowed() -> None:
    assert TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, leeway=60).leeway == 60


# -- header and signature -------------------------------------------------------------------


def test_alg_none_is_refused(keys: FakeKeys) -> None:
    token = unsigned({"alg": "none", "kid": "key-1"}, claims())
    assert refused(token, keys) == "algorithm_not_allowed"


def test_hs256_signed_with_the_public_key_as_secret_is_refused(keys: FakeKeys) -> None:
    # The classic confusion attack: the JWKS is public, so its bytes are no secret.
    secret = signing_key("key-1").as_pem(private=False)
    header, payload, _ = unsigned({"alg": "HS256", "kid": "key-1"}, claims()).split(".")
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert refused(token, keys) == "algorithm_not_allowed"


def test_allowed_but_unconfigured_algorithm_is_refused(keys: FakeKeys) -> None:
    token = mint(alg="RS512", key=_without(signing_key("key-1"), "alg", private=True))
    assert refused(token, keys) == "algorithm_not_allowed"


def test_algorithm_of_another_key_type_finds_no_key(keys: FakeKeys) -> None:
    # ES256 is allowed, but the kid names an RSA key: never verified with a mismatched key.
    policy = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, algorithms=("RS256", "ES256"))
    token = mint(claims(aud=CLIENT_ID), alg="ES256", key=ec_key("key-1"))
    assert refused(token, keys, policy=policy) == "unknown_kid"


def test_ec_token_is_accepted_when_configured() -> None:
    policy = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, algorithms=("ES256",))
    token = mint(claims(aud=CLIENT_ID), kid="ec-1", alg="ES256", key=ec_key("ec-1"))
    assert validate(token, FakeKeys(public(ec_key("ec-1"))), policy=policy)["sub"] == SUBJECT


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        "a.b",
        "a.b.c.d.e",
        "!!!.###.$$$",
        "é.é.é",
        "x" * (MAX_TOKEN_LENGTH + 1),
        unsigned({"kid": "key-1"}, claims()),
        unsigned({"alg": 256, "kid": "key-1"}, claims()),
        unsigned(["alg"], claims()),
        unsigned({"alg": "RS256", "kid": 1}, claims()),
    ],
    ids=[
        "empty",
        "no-dots",
        "two-parts",
        "jwe-shaped",
        "not-base64",
        "not-ascii",
        "too-long",
        "no-alg",
        "alg-not-string",
        "header-not-object",
        "kid-not-string",
    ],
)
def test_malformed_token_is_refused(token: str, keys: FakeKeys) -> None:
    assert refused(token, keys) == "malformed"


def test_token_that_is_not_a_string_is_refused(keys: FakeKeys) -> None:
    assert refused(b"a.b.c", keys) == "malformed"


@pytest.mark.parametrize("extension", [{"crit": ["exp"], "exp": NOW}, {"b64": True}])
def test_jws_extension_headers_are_refused(extension: dict[str, Any], keys: FakeKeys) -> None:
    header = {"alg": "RS256", "kid": "key-1", **extension}
    assert refused(unsigned(header, claims(), b"signature"), keys) == "malformed"


def test_payload_that_is_not_a_json_object_is_refused(keys: FakeKeys) -> None:
    token = jws.serialize_compact({"alg": "RS256", "kid": "key-1"}, b"[1, 2]", signing_key("key-1"))
    assert refused(token, keys) == "malformed"


def test_payload_that_is_not_json_is_refused(keys: FakeKeys) -> None:
    token = jws.serialize_compact(
        {"alg": "RS256", "kid": "key-1"}, b"not json", signing_key("key-1")
    )
    assert refused(token, keys) == "malformed"


def test_signature_by_another_key_with_a_known_kid_is_refused(keys: FakeKeys) -> None:
    token = mint(key=signing_key("attacker"))
    assert refused(token, keys) == "bad_signature"


def test_tampered_payload_is_refused(keys: FakeKeys) -> None:
    header, _, signature = mint().split(".")
    forged = mint(claims(sub="someone-else")).split(".")[1]
    assert refused(f"{header}.{forged}.{signature}", keys) == "bad_signature"


def test_signature_that_is_not_base64_is_refused(keys: FakeKeys) -> None:
    header, payload, _ = mint().split(".")
    assert refused(f"{header}.{payload}.@@@@", keys) == "bad_signature"


def test_key_that_joserfc_will_not_use_is_a_bad_signature(keys: FakeKeys) -> None:
    # A key marked for another operation: joserfc refuses it during verification.
    key = _without(signing_key("key-1"), "use").as_dict(private=False)
    restricted = RSAKey.import_key({**key, "key_ops": ["encrypt"]})
    assert refused(mint(), FakeKeys(KeySet([restricted]))) == "bad_signature"


# -- key selection ---------------------------------------------------------------------------


def test_unknown_kid_is_found_after_one_refresh() -> None:
    rotated = FakeKeys(
        public(signing_key("key-1")),
        after_refresh=public(signing_key("key-1"), signing_key("key-2")),
    )

    assert validate(mint(kid="key-2"), rotated)["sub"] == SUBJECT
    assert rotated.refresh_calls == 1


def test_good_token_after_key_rotation_needs_no_further_refresh() -> None:
    rotated = FakeKeys(
        public(signing_key("key-1")),
        after_refresh=public(signing_key("key-2")),
    )
    validate(mint(kid="key-2"), rotated)

    assert validate(mint(kid="key-2"), rotated)["sub"] == SUBJECT
    assert rotated.refresh_calls == 1
    # The retired key is gone from the JWKS: its tokens are no longer accepted.
    assert refused(mint(kid="key-1"), rotated) == "unknown_kid"


def test_unknown_kid_is_refused_when_refresh_is_rate_limited() -> None:
    limited = FakeKeys(public(signing_key("key-1")), refresh_allowed=False)

    assert refused(mint(kid="key-2"), limited) == "unknown_kid"
    assert limited.refresh_calls == 1


def test_unknown_kid_is_refused_when_refresh_does_not_publish_it(keys: FakeKeys) -> None:
    assert refused(mint(kid="key-2"), keys) == "unknown_kid"
    assert keys.refresh_calls == 1


def test_token_without_kid_is_refused_when_the_provider_publishes_several_keys() -> None:
    several = FakeKeys(public(signing_key("key-1"), signing_key("key-2")))

    assert refused(mint(kid=DROP, key=signing_key("key-1")), several) == "kid_required"
    assert several.refresh_calls == 0


def test_token_without_kid_is_refused_when_the_only_key_cannot_verify_it(
    keys: FakeKeys,
) -> None:
    policy = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, algorithms=("ES256",))
    token = mint(claims(aud=CLIENT_ID), kid=DROP, alg="ES256", key=ec_key("ec-1"))
    assert refused(token, keys, policy=policy) == "unknown_kid"


def test_key_published_for_encryption_is_not_used_for_signatures() -> None:
    key = signing_key("key-1").as_dict(private=False)
    published = FakeKeys(KeySet([RSAKey.import_key({**key, "use": "enc"})]))
    assert refused(mint(), published) == "unknown_kid"


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_key_url_in_header_is_never_followed(header: str) -> None:
    # Signed by the attacker's key under a kid the provider does not publish, pointing at
    # the attacker's JWKS: the only keys consulted are the provider's.
    keys = FakeKeys(public(signing_key("key-1")))
    pointer: dict[str, Any] = {header: "https://attacker.example/jwks.json"}
    token = mint(kid="attacker", **pointer)

    assert refused(token, keys) == "unknown_kid"


def test_genuine_token_with_a_foreign_jku_is_verified_with_the_providers_key() -> None:
    keys = FakeKeys(public(signing_key("key-1")))
    token = mint(jku="https://attacker.example/jwks.json")

    assert validate(token, keys)["sub"] == SUBJECT


def test_embedded_jwk_header_is_never_trusted() -> None:
    policy = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID, algorithms=("ES256",))
    attacker = ec_key("attacker")
    token = mint(
        claims(aud=CLIENT_ID), kid="ec-1", alg="ES256", key=attacker, jwk=attacker.as_dict()
    )
    assert refused(token, FakeKeys(public(ec_key("ec-1"))), policy=policy) == "bad_signature"


def test_oversized_header_is_refused(keys: FakeKeys) -> None:
    attacker = signing_key("attacker")
    token = mint(key=attacker, jwk=attacker.as_dict(private=False))
    assert refused(token, keys) == "malformed"


# -- claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "iat"])
def test_token_without_a_required_claim_is_refused(name: str, keys: FakeKeys) -> None:
    assert refused(mint(claims(**{name: DROP})), keys) == "missing_claim"


@pytest.mark.parametrize(
    "issuer", ["https://evil.example.test", ISSUER + "/", ISSUER.upper(), None, 1]
)
def test_token_from_another_issuer_is_refused(issuer: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(iss=issuer)), keys) == "wrong_issuer"


@pytest.mark.parametrize("subject", ["", 312044223372036999, None])
def test_subject_must_be_a_non_empty_string(subject: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(sub=subject)), keys) == "invalid_claim"


@pytest.mark.parametrize("aud", ["another-client", [PROJECT_ID], ["another-client", PROJECT_ID]])
def test_token_for_another_client_is_refused(aud: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(aud=aud, azp=DROP)), keys) == "wrong_audience"


def test_token_for_another_client_is_refused_even_when_azp_names_us(keys: FakeKeys) -> None:
    assert refused(mint(claims(aud=["another-client"])), keys) == "wrong_audience"


def test_untrusted_extra_audience_is_refused(keys: FakeKeys) -> None:
    token = mint(claims(aud=[CLIENT_ID, PROJECT_ID, "another-project"]))
    assert refused(token, keys) == "untrusted_audience"


def test_extra_audience_is_refused_unless_configured(keys: FakeKeys) -> None:
    strict = TokenPolicy(issuer=ISSUER, client_id=CLIENT_ID)
    assert refused(mint(), keys, policy=strict) == "untrusted_audience"


@pytest.mark.parametrize("aud", [[], 42, [CLIENT_ID, 42], [CLIENT_ID, ""], {"a": 1}])
def test_audience_of_the_wrong_shape_is_refused(aud: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(aud=aud)), keys) == "invalid_claim"


@pytest.mark.parametrize("azp", ["another-client", PROJECT_ID, "", None, [CLIENT_ID]])
def test_token_authorised_for_another_party_is_refused(azp: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(azp=azp)), keys) == "wrong_azp"


def test_azp_is_required_when_the_token_has_several_audiences(keys: FakeKeys) -> None:
    assert refused(mint(claims(azp=DROP)), keys) == "missing_claim"


def test_expiry_is_allowed_up_to_the_leeway(keys: FakeKeys) -> None:
    token = mint(claims(exp=NOW))
    assert validate(token, keys, now=NOW + 60)["exp"] == NOW
    assert refused(token, keys, now=NOW + 61) == "expired"


def test_expired_token_is_refused_with_no_leeway(keys: FakeKeys) -> None:
    policy = TokenPolicy(
        issuer=ISSUER, client_id=CLIENT_ID, extra_audiences=frozenset({PROJECT_ID}), leeway=0
    )
    token = mint(claims(exp=NOW))
    assert validate(token, keys, policy=policy, now=NOW)["exp"] == NOW
    assert refused(token, keys, policy=policy, now=NOW + 1) == "expired"


def test_issue_time_in_the_future_is_allowed_up_to_the_leeway(keys: FakeKeys) -> None:
    token = mint(claims(iat=NOW + 60))
    assert validate(token, keys)["iat"] == NOW + 60
    assert refused(mint(claims(iat=NOW + 61)), keys) == "issued_in_future"


def test_token_not_yet_valid_is_refused(keys: FakeKeys) -> None:
    assert validate(mint(claims(nbf=NOW + 60)), keys)["nbf"] == NOW + 60
    assert refused(mint(claims(nbf=NOW + 61)), keys) == "not_yet_valid"


@pytest.mark.parametrize("name", ["exp", "iat", "auth_time", "nbf"])
@pytest.mark.parametrize("value", ["1750000300", 1750000300.5, True, None])
def test_times_must_be_whole_seconds(name: str, value: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(**{name: value})), keys) == "invalid_claim"


def test_token_without_auth_time_is_accepted(keys: FakeKeys) -> None:
    assert "auth_time" not in validate(mint(claims(auth_time=DROP)), keys)


@pytest.mark.parametrize("nonce", ["another-nonce", NONCE + "x", NONCE[:-1], "", 42, None])
def test_token_with_another_nonce_is_refused(nonce: Any, keys: FakeKeys) -> None:
    assert refused(mint(claims(nonce=nonce)), keys) == "nonce_mismatch"


def test_token_without_nonce_is_refused(keys: FakeKeys) -> None:
    assert refused(mint(claims(nonce=DROP)), keys) == "nonce_mismatch"


def test_lost_expected_nonce_refuses_every_token(keys: FakeKeys) -> None:
    assert refused(mint(claims(nonce="")), keys, nonce="") == "nonce_mismatch"


def test_rejection_message_never_carries_token_or_claims(keys: FakeKeys) -> None:
    token = mint(claims(iss="https://secret-issuer.example", sub="secret-subject"))
    with pytest.raises(IdTokenRejected) as caught:
        validate(token, keys)

    text = f"{caught.value} {caught.value!r} {caught.value.args}"
    assert "secret" not in text
    assert token not in text


# -- properties ------------------------------------------------------------------------------

_audience = st.text(min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.lists(_audience, max_size=3),
    foreign=_audience,
    amr=st.lists(st.sampled_from(["pwd", "otp", "mfa", "user", "hwk", "sms"]), max_size=4),
    with_azp=st.booleans(),
)
def test_a_foreign_audience_never_validates(
    extra: list[str], foreign: str, amr: list[str], with_azp: bool
) -> None:
    if foreign in (CLIENT_ID, PROJECT_ID):
        foreign += "-foreign"
    audiences = [CLIENT_ID, *extra, foreign]
    payload = claims(aud=audiences, amr=amr, azp=CLIENT_ID if with_azp else DROP)
    keys = FakeKeys(public(signing_key("key-1")))

    with pytest.raises(IdTokenRejected) as caught:
        validate(mint(payload), keys)
    assert caught.value.reason in {"untrusted_audience", "missing_claim"}


@settings(max_examples=40, deadline=None)
@given(claims_seen=st.dictionaries(st.sampled_from(["aud", "azp", "iss", "sub"]), st.text()))
def test_no_string_claims_from_an_attacker_validate_with_a_forged_signature(
    claims_seen: dict[str, str],
) -> None:
    keys = FakeKeys(public(signing_key("key-1")))
    token = jwt.encode(
        {"alg": "RS256", "kid": "key-1"}, claims(**claims_seen), signing_key("attacker")
    )
    with pytest.raises(IdTokenRejected) as caught:
        validate(token, keys)
    assert caught.value.reason == "bad_signature"


# -- the shared signature check --------------------------------------------------------------


def test_verify_signed_checks_the_signature_and_leaves_the_claims_to_the_caller(
    keys: FakeKeys,
) -> None:
    expired_for_another_client = claims(aud=["another-client"], exp=NOW - 3600, nonce=DROP)
    other_key = RSAKey.generate_key(2048, parameters={"kid": "key-1"})

    payload = verify_signed(mint(expired_for_another_client), policy=POLICY, keys=keys)

    assert payload["aud"] == ["another-client"]
    with pytest.raises(TokenRejected) as caught:
        verify_signed(mint(claims(), key=other_key), policy=POLICY, keys=keys)
    assert caught.value.reason == "bad_signature"


def test_verify_signed_refuses_a_type_the_caller_does_not_accept(keys: FakeKeys) -> None:
    logout_typed, access_typed = mint(typ="logout+jwt"), mint(typ="at+jwt")
    accepted = frozenset({"logout+jwt"})

    assert verify_signed(logout_typed, policy=POLICY, keys=keys, accepted_types=accepted)
    with pytest.raises(TokenRejected) as caught:
        verify_signed(access_typed, policy=POLICY, keys=keys, accepted_types=accepted)
    assert caught.value.reason == "wrong_typ"
    # Without `accepted_types` (an ID token) the `typ` header is not read.
    assert verify_signed(access_typed, policy=POLICY, keys=keys)["sub"] == SUBJECT
