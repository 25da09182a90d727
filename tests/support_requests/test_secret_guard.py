"""The secret guard, measured on a labelled corpus: recall and false-positive rate."""

import subprocess
import sys

import pytest

from aidial_portal.support.secret_guard import SecretKind, find_secret
from tests.support_requests.corpus import negatives, positives

MIN_RECALL = 0.95
MAX_FALSE_POSITIVE_RATE = 0.02


def test_corpus_is_large_and_covers_every_kind():
    labelled = positives()
    assert len(labelled) >= 60
    assert len(negatives()) >= 100
    assert {kind for kind, _ in labelled} == set(SecretKind)


def test_guard_refuses_at_least_95_percent_of_secret_bearing_messages():
    labelled = positives()
    missed = [text for _, text in labelled if find_secret(text) is None]
    recall = 1 - len(missed) / len(labelled)
    assert recall >= MIN_RECALL, f"recall {recall:.1%}; missed: {missed}"


def test_guard_refuses_at_most_2_percent_of_ordinary_messages():
    ordinary = negatives()
    refused = [(find_secret(text), text) for text in ordinary if find_secret(text) is not None]
    rate = len(refused) / len(ordinary)
    assert rate <= MAX_FALSE_POSITIVE_RATE, f"false positives {rate:.1%}: {refused}"


def test_guard_names_the_kind_of_secret_it_found():
    labelled = positives()
    wrong = [(kind, find_secret(text), text) for kind, text in labelled]
    wrong = [item for item in wrong if item[1] is not None and item[1] != item[0]]
    assert len(wrong) <= len(labelled) * 0.05, wrong


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my recovery code is K7MPQ-X3RTW", SecretKind.RECOVERY_CODE),
        ("OTP: 482913", SecretKind.ONE_TIME_CODE),
        ("the code is 123456", SecretKind.ONE_TIME_CODE),
        ("otpauth://totp/AiDial:sam?secret=JBSWY3DPEHPK3PXP", SecretKind.OTPAUTH_URI),
        ("JBSW Y3DP EHPK 3PXP", SecretKind.TOTP_SEED),
        ("Cookie: aidial_session=abc123def456ghi789", SecretKind.SESSION_COOKIE),
        ("client_secret=Xy7Qp2Lm9Rt4Vw8Zk3Nb", SecretKind.CLIENT_SECRET),
    ],
)
def test_examples_from_the_user_guide_are_refused(text, kind):
    assert find_secret(text) is kind


@pytest.mark.parametrize(
    "text",
    [
        "Where is order ORD-12345?",
        "Invoice INV-2026-00042 is overdue.",
        "Please call 0412 345 678.",
        "It started on 2026-03-15 at 10:30.",
        "Our third-party cross-check tool is world-class.",
        "The 6-digit code from my app is refused. What can I do?",
        "",
    ],
)
def test_ordinary_messages_pass(text):
    assert find_secret(text) is None


def test_guard_is_plain_python_without_django():
    code = (
        "import sys; import aidial_portal.support.secret_guard as g; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules); "
        "print(g.find_secret('OTP: 482913'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "one_time_code"


def test_report_measured_rates(capsys):
    labelled, ordinary = positives(), negatives()
    recall = sum(find_secret(t) is not None for _, t in labelled) / len(labelled)
    fp = sum(find_secret(t) is not None for t in ordinary) / len(ordinary)
    with capsys.disabled():
        print(
            f"\nsecret guard: recall {recall:.1%} of {len(labelled)}, "
            f"false positives {fp:.1%} of {len(ordinary)}"
        )
    assert recall >= MIN_RECALL


@pytest.mark.parametrize(
    "text",
    [
        "my recovery code is K7MPQ\u2013X3RTW",  # en dash
        "my recovery code is K7MPQ\u2011X3RTW",  # no-break hyphen
        "my recovery code is K7MPQ\u2212X3RTW",  # minus sign
        "my recovery code is \uff2b\uff17\uff2d\uff30\uff31\uff0d\uff38\uff13\uff32\uff34\uff37",
        "my recovery code is K7MPQ\u200b-\u200bX3RTW",  # zero-width spaces
        "recovery\u00a0code K7MPQ\u00a0X3RTW",  # no-break spaces
        "RECOVERY-CODE: k7mpqx3rtw",
        "backup code k7mpq_x3rtw",
        "Backup-Codes: k7mpq.x3rtw",
        "recoverycode K7MPQX3RTW",
    ],
)
def test_realistic_pastes_of_a_recovery_code_are_refused(text):
    assert find_secret(text) is SecretKind.RECOVERY_CODE


@pytest.mark.parametrize(
    "text",
    [
        "I lost my phone. My backup code is ABCDE-12345, can you help?",
        "recovery code: abcde-12345",
    ],
)
def test_a_code_called_a_recovery_code_is_refused_even_when_it_looks_like_an_order_number(text):
    assert find_secret(text) is SecretKind.RECOVERY_CODE


def test_an_order_number_away_from_any_mention_of_recovery_codes_passes():
    text = "Order SALES-12345 failed to load. Separately: where do I keep my recovery codes?"
    assert find_secret(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Please try VBFTS6DTJ8 for me",  # no separator, no wording about codes
        "I used VBFTS 6DTJ8 yesterday",  # a space for the hyphen
        "tried vbfts 6dtj8 twice",  # lower case, as the provider accepts it
        "code VBFTS6DTJ8",  # after a bare "code"
        "code vbfts 6dtj8 please",
        "tried K7MPQ-X3RTW and vbfts6dtj8, both refused",  # two in one sentence
        "used k7mpqx3rtw and vbfts 6dtj8 today",
    ],
)
def test_a_recovery_code_without_its_hyphen_is_refused(text):
    assert find_secret(text) is SecretKind.RECOVERY_CODE


@pytest.mark.parametrize(
    "text",
    [
        "Invoice INV0004271 was paid twice.",
        "Order ORD7731290 is missing an item.",
        "Ticket TCK2026001 has no reply yet.",
        "The promo code SPRING2026 was rejected.",
    ],
)
def test_ids_without_a_hyphen_still_pass(text):
    assert find_secret(text) is None
