"""Does a support message look like it carries a secret? A pure function, no Django.

The user guide forbids pasting recovery codes, authenticator seeds, one-time codes, session
cookies or tokens into support requests. `find_secret(text)` names the first kind of secret the
text appears to hold, or returns None. It answers with a kind, never with the matched value, so
that a refusal can say *why* without repeating the secret.

The rules are tuned against the labelled corpus in `tests/support_requests/`: they must catch
real secrets (recall) without refusing ordinary messages about order numbers, dates, phone
numbers and invoice ids (false positives). Each rule says what it must not confuse a secret with.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from enum import StrEnum
from itertools import pairwise


class SecretKind(StrEnum):
    RECOVERY_CODE = "recovery_code"
    ONE_TIME_CODE = "one_time_code"
    OTPAUTH_URI = "otpauth_uri"
    TOTP_SEED = "totp_seed"
    JWT = "jwt"
    BEARER_TOKEN = "bearer_token"  # noqa: S105 - a kind tag, not a token
    SESSION_COOKIE = "session_cookie"
    CLIENT_SECRET = "client_secret"  # noqa: S105 - a kind tag, not a secret


# Unambiguous shapes ------------------------------------------------------------------------

_OTPAUTH = re.compile(r"otpauth(?:-migration)?://", re.IGNORECASE)
# A JWS or JWE: base64url JSON header ("eyJ" is '{"'), a dot, more base64url, a dot.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"\bauthori[sz]ation\s*:\s*\S{12,}", re.IGNORECASE)
_TOKEN_PARAM = re.compile(
    r"\b(?:access|refresh|id)[_-]?token\s*[=:]\s*[\"']?[A-Za-z0-9._~+/-]{12,}", re.IGNORECASE
)
# `Cookie:` / `Set-Cookie:` headers with a name=value pair, and well-known session cookie names.
_COOKIE_HEADER = re.compile(r"\b(?:set-)?cookie\s*:\s*[\w.-]+=\S", re.IGNORECASE)
_SESSION_COOKIE = re.compile(
    r"\b(?:aidial_session|aidial_csrftoken|sessionid|csrftoken|jsessionid|phpsessid|"
    r"connect\.sid|__host-[\w-]+|__secure-[\w-]+|zitadel[\w.-]*)\s*[=:]\s*[\"']?[^\s;\"']{8,}",
    re.IGNORECASE,
)
# Copied from developer tools: the cookie's name, then its value after whitespace or "is".
_COOKIE_COPIED = re.compile(
    r"\b(?:aidial_session|sessionid|jsessionid|phpsessid|__host-[\w-]+|__secure-[\w-]+|"
    r"zitadel[\w.-]*|session\s+cookie|cookie)(?:\s+(?:value\s+)?(?:is|was))?[\s:=]+[\"']?"
    r"([A-Za-z0-9._~+/%-]{16,})",
    re.IGNORECASE,
)
_LABELLED_SECRET = re.compile(
    r"\b(?:secret|password|passwd|pwd|token|x-api-key)\s*[=:]\s*[\"']?([^\s\"']{12,})",
    re.IGNORECASE,
)
_CLIENT_SECRET = re.compile(
    r"\b(?:client[_ -]?secret|api[_ -]?key|secret[_ -]?key|private[_ -]?key|app[_ -]?secret)"
    r"\s*(?:is|was|[=:])?\s*[\"']?([A-Za-z0-9._~+/=-]{12,})",
    re.IGNORECASE,
)

# Zitadel's recovery codes: `XXXXX-XXXXX`, ten alphanumerics with a hyphen. The token must not
# be part of a longer hyphenated chain (`INV-2026-00042`, licence keys, UUIDs).
# People retype the hyphen as another separator, so `_`, `.` and `/` count as one too.
_RECOVERY = re.compile(r"(?<![\w./-])([A-Za-z0-9]{5})[-_./]([A-Za-z0-9]{5})(?![\w-]|[./]\w)")
# "recovery code", "Backup-Codes", "RECOVERY_CODE", "recoverycode": any case, any separator.
# "my backup code is ABCDE-12345": called a recovery code right beside it, even an id-like one.
_NAMED_AS_CODE = 20  # characters either side
_RECOVERY_CONTEXT = re.compile(r"\b(?:recovery|backup)[\s_-]*codes?\b", re.IGNORECASE)
# With that wording nearby, a code with its separator dropped or turned into a space.
# A lookahead, so that every start is tried: in "tried VBFTS 6DTJ8" the pair "tried VBFTS"
# must not hide the code that follows it.
_RECOVERY_PLAIN = re.compile(r"(?<![\w-])(?=([A-Za-z0-9]{5})[ ]?([A-Za-z0-9]{5})(?![\w-]))")
# Zitadel accepts a recovery code in lower case and with a space for its hyphen, so people
# retype it that way, with no wording about codes or only a bare "code" before it.
_BARE_CODE_BEFORE = re.compile(r"\bcodes?\s*(?:is|was|[:=])?\s*$", re.IGNORECASE)
_MAX_CODE_DIGITS = 6  # a random code rarely has more; ids ("2026A00042") mostly digits
_HEX = frozenset("0123456789abcdefABCDEF")

# One-time codes: 6 to 8 digits (or 3+3 / 4+4 groups), presented as a code. The number must
# stand alone: not inside a phone number (`0412 345 678`), a date or an amount.
_OTP_NUMBER = re.compile(
    r"(?<![\w/.$+,#-])(?<!\d )(\d{6,8}|\d{3}[ -]\d{3}|\d{4}[ -]\d{4})(?![\w/:%-])(?!\.\d)(?! \d)"
)
_OTP_KEYWORD = re.compile(
    r"\b(?:one[- ]?time(?:\s+(?:pass)?code)?|otp|totp|2fa|mfa|passcode|verification|"
    r"authenticator|authentication|security\s+code|sign[- ]in\s+code|login\s+code|"
    r"(?:6|six|8|eight)[- ]digit|code|token|pin)\b",
    re.IGNORECASE,
)
# Words that make "code" or a number mean something else.
_NOT_A_CODE_BEFORE_KEYWORD = re.compile(
    r"\b(?:post|zip|promo|promotional|discount|product|error|status|tracking|reference|ref|"
    r"voucher|coupon|gift|referral|area|country|sort|swift|bank|branch|tax|billing|cost|source|"
    r"bar|qr|invoice|order|booking|customer|account|fault|reason|response|exit|return|item|"
    r"stock|sku|course|unit|dial|access|activation)\s*$",
    re.IGNORECASE,
)
_NOT_A_CODE_LABEL = re.compile(
    r"\b(?:order|orders|invoice|inv|ticket|case|ref|reference|phone|ph|mobile|mob|tel|call|"
    r"fax|customer|account|acct|abn|acn|booking|po|purchase|number|no|id|job|quote|receipt|"
    r"transaction|txn|tracking|consignment|serial|licence|license|policy|claim|member|"
    r"employee|staff|room|unit|street|st|level|suite|postcode|zip|amount|total|aud|usd|"
    r"dated?|on|since|until|from|to|between|and|of|version|build|release|error|status|"
    r"product|sku|item|part|model|batch|lot|extension|ext)\s*(?:[:#.]|is|was)?\s*$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?\n]\s")

# TOTP seeds: base32 (A-Z, 2-7), 16 or more characters, often shown in groups of four.
_SEED_RUN = re.compile(r"(?<![A-Za-z0-9])([A-Z2-7]{16,}|[a-z2-7]{16,})=*(?![A-Za-z0-9])")
_SEED_GROUPED = re.compile(
    r"(?<![A-Za-z0-9])((?:[A-Z2-7]{4}[ -]){3,}[A-Z2-7]{2,}|(?:[a-z2-7]{4}[ -]){3,}[a-z2-7]{2,})"
    r"(?![A-Za-z0-9])"
)
_SEED_CONTEXT = re.compile(
    r"\b(?:secret|seed|setup\s+key|set-up\s+key|key|base32|qr)\b", re.IGNORECASE
)

# Long, high-entropy strings: API keys, personal access tokens, client secrets.
_LONG_TOKEN = re.compile(r"(?<![\w/.@:-])([A-Za-z0-9_+/=-]{24,})(?![\w/.@-])")
_MIN_TOKEN_ENTROPY = 3.5  # bits per character


# Pasted text carries look-alikes: full-width letters and digits, every kind of dash, no-break
# and zero-width spaces. NFKC folds most of them; the rest are mapped here.
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"),
    "-",
)
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = dict.fromkeys(
    map(
        ord,
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
        "\u2009\u200a\u202f\u205f\u3000",
    ),
    " ",
)


def normalise(text: str) -> str:
    """The text as the rules expect it: NFKC, plain hyphens and spaces, nothing invisible."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_INVISIBLE).translate(_DASHES).translate(_SPACES)


def find_secret(text: str) -> SecretKind | None:
    """The kind of secret `text` appears to contain, or None when it looks ordinary."""
    normalised = normalise(text)
    for kind, check in _CHECKS:
        if check(normalised) or (normalised != text and check(text)):
            return kind
    return None


def _has_otpauth(text: str) -> bool:
    return _OTPAUTH.search(text) is not None


def _has_jwt(text: str) -> bool:
    return _JWT.search(text) is not None


def _has_bearer(text: str) -> bool:
    for match in _BEARER.finditer(text):
        token = match.group(0).split(None, 1)[1]
        if _looks_random(token, min_length=16):
            return True
    return bool(_AUTH_HEADER.search(text) or _TOKEN_PARAM.search(text))


def _has_cookie(text: str) -> bool:
    if _COOKIE_HEADER.search(text) or _SESSION_COOKIE.search(text):
        return True
    return any(_looks_random(m.group(1), min_length=16) for m in _COOKIE_COPIED.finditer(text))


def _has_client_secret(text: str) -> bool:
    for match in _CLIENT_SECRET.finditer(text):
        if _looks_random(match.group(1), min_length=12):
            return True
    for match in _LABELLED_SECRET.finditer(text):
        if _looks_random(match.group(1), min_length=12):
            return True
    for match in _LONG_TOKEN.finditer(text):
        token = match.group(1)
        if _mixed_classes(token) >= 3 and _entropy(token) >= _MIN_TOKEN_ENTROPY:
            return True
    return False


def _has_seed(text: str) -> bool:
    for match in _SEED_RUN.finditer(text):
        run = match.group(1)
        if _has_base32_digit(run) or _near(_SEED_CONTEXT, text, match.start(), match.end()):
            return True
    for match in _SEED_GROUPED.finditer(text):
        seed = re.sub(r"[ -]", "", match.group(1))
        if len(seed) < 16:
            continue
        if _has_base32_digit(seed) or _near(_SEED_CONTEXT, text, match.start(), match.end()):
            return True
    return False


def _has_recovery_code(text: str) -> bool:
    context = _RECOVERY_CONTEXT.search(text) is not None
    for match in _RECOVERY.finditer(text):
        left, right = match.group(1), match.group(2)
        code = left + right
        letters = sum(ch.isalpha() for ch in code)
        digits = sum(ch.isdigit() for ch in code)
        if letters and digits:
            # Mixed letters and digits in a 5-5 shape; `ORD12-34567` style ids keep a
            # letters-only prefix followed by digits only, and need a digit-free left half.
            if _prefix_then_number(left, right) and not _near(
                _RECOVERY_CONTEXT, text, match.start(), match.end(), width=_NAMED_AS_CODE
            ):
                continue
            return True
        if letters == 10 and code.isupper():
            # ABCDE-FGHJK; lower-case 5-5 words ("cross-check", "third-party") are prose.
            return True
        # Unpronounceable ("zkxtf-vwvmf"), or not a word pair in prose about recovery codes.
        if letters == 10 and (
            _has_vowelless_half(left, right) or (context and not _is_word_pair(left, right))
        ):
            return True
    for match in _RECOVERY_PLAIN.finditer(text):
        code = match.group(1) + match.group(2)
        if _looks_like_a_code(code) or (
            code.isalpha() and code.isupper() and _after_a_bare_code(text, match.start())
        ):
            return True
    if context:
        for match in _RECOVERY_PLAIN.finditer(text):
            code = match.group(1) + match.group(2)
            letters = sum(ch.isalpha() for ch in code)
            # Letters and digits in any case ("k7mpqx3rtw"), or ten capitals; not a word.
            if (
                letters
                and (letters < 10 or code.isupper())
                and not _prefix_then_number(match.group(1), match.group(2))
            ):
                return True
    return False


def _looks_like_a_code(code: str) -> bool:
    """Ten characters that read like a random code, not an id: letters and digits mixed in at
    least three runs (`INV0004271`, `SPRING2026` have two), not mostly digits, not hex."""
    digits = sum(ch.isdigit() for ch in code)
    if not 0 < digits <= _MAX_CODE_DIGITS or set(code) <= _HEX:
        return False
    runs = 1 + sum(a.isdigit() != b.isdigit() for a, b in pairwise(code))
    return runs >= 3


def _after_a_bare_code(text: str, start: int) -> bool:
    """ "code ABCDE FGHJK", but not "promo code" or "order code"."""
    before = _same_sentence_before(text, start, 40)
    found = _BARE_CODE_BEFORE.search(before)
    return found is not None and not _NOT_A_CODE_BEFORE_KEYWORD.search(before[: found.start()])


def _has_one_time_code(text: str) -> bool:
    for match in _OTP_NUMBER.finditer(text):
        start, end = match.span()
        before = _same_sentence_before(text, start, 60)
        after = _same_sentence_after(text, end, 30)
        if _NOT_A_CODE_LABEL.search(before):
            continue
        if _keyword_in(before) or _keyword_in(after, leading=True):
            return True
    return False


_CHECKS = (
    (SecretKind.OTPAUTH_URI, _has_otpauth),
    (SecretKind.JWT, _has_jwt),
    (SecretKind.SESSION_COOKIE, _has_cookie),
    (SecretKind.BEARER_TOKEN, _has_bearer),
    (SecretKind.RECOVERY_CODE, _has_recovery_code),
    (SecretKind.TOTP_SEED, _has_seed),
    (SecretKind.ONE_TIME_CODE, _has_one_time_code),
    (SecretKind.CLIENT_SECRET, _has_client_secret),
)


# Helpers -----------------------------------------------------------------------------------


def _keyword_in(window: str, *, leading: bool = False) -> bool:
    for match in _OTP_KEYWORD.finditer(window):
        if _NOT_A_CODE_BEFORE_KEYWORD.search(window[: match.start()]):
            continue
        if leading and match.start() > 20:
            # "482913 is the code", not a code mentioned much later in the sentence.
            continue
        return True
    return False


def _same_sentence_before(text: str, start: int, width: int) -> str:
    window = text[max(0, start - width) : start]
    ends = list(_SENTENCE_END.finditer(window))
    return window[ends[-1].end() :] if ends else window


def _same_sentence_after(text: str, end: int, width: int) -> str:
    window = text[end : end + width]
    found = _SENTENCE_END.search(window)
    return window[: found.start()] if found else window


def _near(pattern: re.Pattern[str], text: str, start: int, end: int, width: int = 60) -> bool:
    return pattern.search(text[max(0, start - width) : end + width]) is not None


def _has_base32_digit(value: str) -> bool:
    return any(ch in "234567" for ch in value)


def _prefix_then_number(left: str, right: str) -> bool:
    """`SALES-12345`-like: a word on the left, only digits on the right."""
    return left.isalpha() and right.isdigit()


def _has_vowelless_half(left: str, right: str) -> bool:
    vowels = set("aeiouyAEIOUY")
    return any(not any(ch in vowels for ch in half) for half in (left, right))


def _is_word_pair(left: str, right: str) -> bool:
    vowels = set("aeiouyAEIOUY")
    return all(any(ch in vowels for ch in half) for half in (left, right)) and not (
        left.isupper() and right.isupper()
    )


def _mixed_classes(token: str) -> int:
    return sum(
        (
            any(ch.islower() for ch in token),
            any(ch.isupper() for ch in token),
            any(ch.isdigit() for ch in token),
        )
    )


def _entropy(token: str) -> float:
    counts = Counter(token)
    total = len(token)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def _looks_random(token: str, *, min_length: int) -> bool:
    token = token.strip("\"'")
    if len(token) < min_length:
        return False
    return _mixed_classes(token) >= 2 and _entropy(token) >= 3.0
