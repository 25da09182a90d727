"""A labelled corpus for the secret guard: messages that carry a secret, and ordinary ones.

Secrets are generated fresh (seeded, so a failure reproduces) in the shapes the provider and
the portal really use: Zitadel recovery codes, pyotp seeds and codes, signed JWTs, session keys.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pyotp

from aidial_portal.support.secret_guard import SecretKind

RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_rng = random.Random(20261128)  # noqa: S311 - test data, not secrets in use


def _choice(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def recovery_code() -> str:
    chars = _choice(RECOVERY_ALPHABET, 10)
    return f"{chars[:5]}-{chars[5:]}"


def totp_seed() -> str:
    return base64.b32encode(_rng.randbytes(20)).decode().rstrip("=")


def totp_code() -> str:
    return pyotp.TOTP(totp_seed()).at(1_790_000_000 + _rng.randrange(10**6))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt() -> str:
    header = _b64url(json.dumps({"alg": "RS256", "kid": _choice(string.hexdigits, 8)}).encode())
    claims = {
        "iss": "https://id.aidial.com.au",
        "sub": str(_rng.randrange(10**17, 10**18)),
        "aud": ["portal"],
        "exp": 1_790_000_000 + _rng.randrange(10_000),
        "amr": ["pwd", "otp"],
    }
    payload = _b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{_b64url(_rng.randbytes(256))}"


def token(n: int = 32) -> str:
    return _b64url(_rng.randbytes(n))


def session_key() -> str:
    return _choice(string.ascii_lowercase + string.digits, 32)


def grouped(seed: str, lower: bool = False) -> str:
    text = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    return text.lower() if lower else text


HYPHEN, NO_BREAK_HYPHEN, EN_DASH, EM_DASH = "\u2010", "\u2011", "\u2013", "\u2014"
MINUS, FULL_WIDTH_HYPHEN = "\u2212", "\uff0d"


def separated(code: str, separator: str) -> str:
    """A recovery code retyped with another separator (or none)."""
    return code.replace("-", separator)


def full_width(text: str) -> str:
    """Text as a CJK keyboard or a chat app types it: full-width letters and digits."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def positives() -> list[tuple[SecretKind, str]]:
    """Secret-bearing messages, each labelled with the kind it carries."""
    rc, otp, seed = SecretKind.RECOVERY_CODE, SecretKind.ONE_TIME_CODE, SecretKind.TOTP_SEED
    items: list[tuple[SecretKind, str]] = []
    # Recovery codes, pasted every way people paste them.
    items += [
        (rc, f"Hi, I used recovery code {recovery_code()} but it still asks for MFA."),
        (rc, f"my backup codes are {recovery_code()} {recovery_code()} {recovery_code()}"),
        (rc, f"Here are my codes:\n{recovery_code()}\n{recovery_code()}\n{recovery_code()}"),
        (rc, f"Code {recovery_code()} says invalid. Can you check it?"),
        (rc, f"{recovery_code()}"),
        (rc, f"I typed {recovery_code().lower()} and got an error"),
        (rc, f"Is {recovery_code()} still valid? I think I used it already."),
        (rc, f"Locked out. Recovery code: {recovery_code()}. Please reset my authenticator."),
        (rc, f"Zitadel gave me these: {recovery_code()}, {recovery_code()}, {recovery_code()}"),
        (rc, f"Please verify my identity with {recovery_code()} from my saved list."),
        (rc, "I tried ABCDE-FGHJK which was on my printout"),
        (rc, f"recovery code {recovery_code().replace('-', ' ')} does not work"),
        (rc, f"the recovery code {recovery_code().replace('-', '')} is rejected"),
        (rc, f"- {recovery_code()}\n- {recovery_code()}\n(the rest are in my drawer)"),
    ]
    # One-time codes.
    items += [
        (otp, f"The code is {totp_code()} and it keeps saying invalid."),
        (otp, f"OTP: {totp_code()}"),
        (otp, f"My authenticator shows {totp_code()} right now, can you sign me in?"),
        (otp, f"I entered {totp_code()} as the verification code"),
        (otp, f"2FA code {totp_code()} rejected three times"),
        (otp, f"It asked for a 6-digit code, I put {totp_code()}"),
        (otp, f"one-time code: {totp_code()[:3]} {totp_code()[3:]}"),
        (otp, f"TOTP {totp_code()} not accepted on the sign-in page"),
        (otp, f"{totp_code()} is the code from Google Authenticator"),
        (otp, f"Here's my MFA code {totp_code()} to prove it's me"),
        (otp, f"Code: {_rng.randrange(10**7, 10**8)} (8 digits, from the hardware token)"),
        (otp, f"passcode {totp_code()}"),
        (otp, f"Authenticator app says {totp_code()}. Is my clock wrong?"),
        (otp, f"the security code {totp_code()} expired before I could use it"),
        (otp, f"my code {totp_code()[:3]} {totp_code()[3:]} did not work"),
        (otp, f"the app gave 0{_rng.randrange(10**6, 10**7)} as the token"),
        (otp, f"TOTP code:{totp_code()}"),
    ]
    # otpauth:// URIs.
    for issuer in ("AiDial", "Zitadel", "AiDial%20Portal", "aidial.com.au"):
        uri = pyotp.TOTP(totp_seed()).provisioning_uri(
            name="sam@example.com.au", issuer_name=issuer
        )
        items.append((SecretKind.OTPAUTH_URI, f"The QR code decodes to {uri} is that right?"))
    items.append((SecretKind.OTPAUTH_URI, f"otpauth://totp/AiDial:me?secret={totp_seed()}"))
    items.append((SecretKind.OTPAUTH_URI, "otpauth-migration://offline?data=CjEKCkhlbGxvIQ"))
    # Base32 seeds.
    items += [
        (seed, f"The setup key shown was {totp_seed()}"),
        (seed, f"secret: {grouped(totp_seed())}"),
        (seed, f"Google showed me this key: {grouped(totp_seed(), lower=True)}"),
        (seed, f"{totp_seed()}"),
        (seed, f"I wrote the key down as {grouped(totp_seed()[:16])}"),
        (seed, f"Can't scan the QR, the text underneath is {totp_seed()[:26]}"),
        (seed, f"seed={totp_seed()}"),
        (seed, f"Please re-add my authenticator with {grouped(totp_seed(), lower=True)}"),
    ]
    # JWTs.
    items += [
        (SecretKind.JWT, f"The id_token I got back: {jwt()}"),
        (SecretKind.JWT, f"{jwt()}"),
        (SecretKind.JWT, f"error after callback, token was\n{jwt()}\nthanks"),
        (SecretKind.JWT, f"jwt={jwt()}&state=abc"),
        (SecretKind.JWT, f"Decoded fine on jwt.io: {jwt()}"),
    ]
    # Bearer tokens and Authorization headers.
    items += [
        (SecretKind.BEARER_TOKEN, f"curl -H 'Authorization: Bearer {token()}' gives 401"),
        (SecretKind.BEARER_TOKEN, f"Bearer {token(24)}"),
        (SecretKind.BEARER_TOKEN, f"Authorization: Basic {_b64url(b'admin:Sup3rS3cret!')}"),
        (SecretKind.BEARER_TOKEN, f"access_token={token()}"),
        (SecretKind.BEARER_TOKEN, f"my refresh_token: {token(40)} stopped working"),
        (SecretKind.BEARER_TOKEN, f"API call with bearer {token(48)} returns forbidden"),
    ]
    # Session cookies and Cookie headers.
    items += [
        (SecretKind.SESSION_COOKIE, f"Cookie: aidial_session={session_key()}; theme=dark"),
        (SecretKind.SESSION_COOKIE, f"aidial_session={session_key()}"),
        (SecretKind.SESSION_COOKIE, f"my sessionid={session_key()} keeps expiring"),
        (SecretKind.SESSION_COOKIE, f"Set-Cookie: aidial_csrftoken={token()}; Path=/"),
        (SecretKind.SESSION_COOKIE, f"cookie: JSESSIONID={_choice(string.hexdigits, 32)}"),
        (SecretKind.SESSION_COOKIE, f"copied from devtools: sessionid  {session_key()}"),
        (SecretKind.SESSION_COOKIE, f"The __Host-zitadel cookie is {token()}"),
        (SecretKind.SESSION_COOKIE, f"sessionid\t{session_key()}\tportal.aidial.com.au\t/"),
    ]
    # Client secrets and other long keys.
    items += [
        (SecretKind.CLIENT_SECRET, f"client_secret={token()}"),
        (SecretKind.CLIENT_SECRET, f"Our client secret is {token(30)}, is it expired?"),
        (SecretKind.CLIENT_SECRET, f"API key: {token(24)}"),
        (SecretKind.CLIENT_SECRET, f"the PAT {token(48)} for the service user"),
        (SecretKind.CLIENT_SECRET, f'CLIENT_SECRET: "{token(32)}"'),
        (SecretKind.CLIENT_SECRET, f"Integration failing with key {token(36)}"),
        (SecretKind.CLIENT_SECRET, f"{token(40)}"),
    ]
    # Written after the rules were frozen, in other people's words: a held-out check.
    code = totp_code()
    items += [
        (rc, f"hey can u reset my mfa, backup code {recovery_code()} didnt go thru"),
        (rc, f"codes:{recovery_code()},{recovery_code()}"),
        (rc, f"Recovery codes (keep safe!!) {recovery_code()} {recovery_code()}"),
        (otp, f"pls login as me, code {code}"),
        (otp, f"Authenticator: {code} (expires in 20s)"),
        (otp, f"I received {code} via the app"),  # missed: no word says "code"
        (otp, f"new code = {code}"),
        (seed, f"KEY: {totp_seed()}"),
        (seed, totp_seed().lower()),
        (seed, f"the manual entry key was {grouped(totp_seed())}"),
        (SecretKind.BEARER_TOKEN, f"Authorization: Bearer {token()}"),
        (SecretKind.CLIENT_SECRET, f"x-api-key: {token(24)}"),
        (SecretKind.SESSION_COOKIE, f"header cookie = aidial_session={session_key()}"),
        (SecretKind.JWT, f"here is the JWT {jwt()}"),
        (SecretKind.CLIENT_SECRET, f"secret: {_choice('0123456789abcdef', 64)}"),
        (SecretKind.CLIENT_SECRET, f"token {token(30)}"),
    ]
    # Pasted from phones, word processors and chat apps: look-alike characters, other
    # separators and recovery-code wording in any case (issue 10, item 3).
    nbsp, zwsp, thin = "\u00a0", "\u200b", "\u2009"
    items += [
        (rc, f"my recovery code is {separated(recovery_code(), EN_DASH)}"),
        (rc, f"Code {separated(recovery_code(), EM_DASH)} was refused"),
        (rc, f"{separated(recovery_code(), NO_BREAK_HYPHEN)} from my list"),
        (rc, f"is {separated(recovery_code(), MINUS)} still valid?"),
        (rc, f"used {separated(recovery_code(), HYPHEN)} yesterday"),
        (rc, f"tried {separated(recovery_code(), FULL_WIDTH_HYPHEN)} twice"),
        (rc, f"my code is {full_width(recovery_code())}"),
        (rc, f"recovery code {separated(recovery_code(), zwsp + '-' + zwsp)} is rejected"),
        (rc, f"code: {zwsp.join(recovery_code())}"),
        (rc, f"recovery{nbsp}code {separated(recovery_code(), nbsp)} no good"),
        (rc, f"RECOVERY-CODE: {separated(recovery_code(), '').lower()}"),
        (rc, f"backup-code {separated(recovery_code(), '_')} didn't work"),
        (rc, f"Backup Code: {separated(recovery_code(), '.').lower()}"),
        (rc, f"recoverycode {separated(recovery_code(), ' ')}"),
        (rc, f"the Recovery_Codes were {separated(recovery_code(), '').lower()} and more"),
        (rc, f"backup codes {recovery_code().lower()} {recovery_code().lower()}"),
        (rc, f"I typed {separated(recovery_code(), '/')} like it says on the sheet"),
        (rc, f"BACKUP CODE {separated(recovery_code(), ' ')}"),
        (otp, f"OTP\uff1a{full_width(totp_code())}"),
        (otp, f"code{nbsp}{totp_code()} did not work"),
        (otp, f"2FA code {totp_code()[:3]}{thin}{totp_code()[3:]} rejected"),
        (otp, f"one{NO_BREAK_HYPHEN}time code {totp_code()}"),
        (seed, f"setup key {grouped(totp_seed()).replace(' ', zwsp)}"),
        (seed, f"key: {full_width(totp_seed())}"),
        (SecretKind.BEARER_TOKEN, f"Authorization\uff1a Bearer {token()}"),
    ]
    # Live codes retyped without their hyphen, as the provider accepts them (issue 22, item 4):
    # no separator, a space, lower case, after a bare "code", two in one sentence.
    items += [
        (rc, f"Please try {separated(recovery_code(), '')} for me"),
        (rc, f"I used {separated(recovery_code(), ' ')} yesterday"),
        (rc, f"tried {separated(recovery_code(), ' ').lower()} twice"),
        (rc, f"can you check {separated(recovery_code(), '').lower()}"),
        (rc, f"code {separated(recovery_code(), '')}"),
        (rc, f"code {separated(recovery_code(), ' ').lower()} please"),
        (rc, f"my code was {separated(recovery_code(), '').lower()}"),
        (rc, f"tried {recovery_code()} and {separated(recovery_code(), '')}, both refused"),
        (
            rc,
            f"used {separated(recovery_code(), '').lower()} and "
            f"{separated(recovery_code(), ' ').lower()} today",
        ),
        (rc, f"{separated(recovery_code(), ' ')}"),
    ]
    return items


def negatives() -> list[str]:
    """Ordinary support messages: order numbers, dates, phone numbers, invoice ids and prose."""
    return [
        # Order numbers.
        "Where is my order ORD-12345? It was due last week.",
        "Order number 4829137 has not arrived.",
        "I placed order #100234 on 3 March and was charged twice.",
        "Can you cancel order ORD-2026-0042 please",
        "orders 123456 and 123457 should be merged",
        "Order SO-482913 shipped to the wrong address.",
        "Re: order 88812345 - tracking not updating",
        "My purchase order PO-77812 needs a tax invoice.",
        "PO number 4500123456 for the annual renewal.",
        "Reference ORD12345 from the confirmation email.",
        # Invoice ids.
        "Invoice INV-2026-00042 is overdue, but I paid it on 14/02/2026.",
        "Please resend invoice INV-00042.",
        "Invoice number 2026-00123 shows the wrong ABN.",
        "Our invoice 100482 lists 12 seats instead of 10.",
        "invoice #INV2026-117 has GST missing",
        "Credit note CN-2026-0007 against invoice INV-2026-00031.",
        "The receipt no. 552910 does not match the invoice.",
        "Quote Q-2026-0193 expired before we could accept.",
        "Can I get a copy of invoice 20260314-01?",
        "Transaction 7782134 was declined.",
        # Dates and times.
        "Our contract renews on 2026-07-01.",
        "Since 15/03/2026 nobody in our team can sign in.",
        "The outage was between 10:30 and 11:45 AEST on 2026-03-03.",
        "Meeting booked for 12 March 2026 at 2pm.",
        "We were billed for 01/01/2026 to 31/12/2026.",
        "Started happening on 20260315 after the update.",
        "Report from 2026-01-01T00:00:00Z to 2026-01-31T23:59:59Z is empty.",
        "Please schedule the migration for Saturday 4 April, 9:00-12:00.",
        "Last successful login was 28/11/2026 08:15.",
        "The certificate expires 2027-02-28.",
        # Phone numbers.
        "Please call me on 0412 345 678.",
        "My mobile is 0412-345-678, best after 3pm.",
        "Office: (02) 9876 5432, ext 204.",
        "Call +61 2 9876 5432 and ask for Priya.",
        "ph 0398765432",
        "Our support line 1300 123 456 told me to email you.",
        "Reach me at 1800 654 321 or +61 412 345 678.",
        "Fax 02 8123 4567 (yes, we still have one).",
        "You can text 0499 888 777.",
        "My number changed from 0412345678 to 0487654321.",
        # Account, ticket and case ids.
        "Ticket #482913 was closed without a reply.",
        "Case 00123456 is still open.",
        "Customer number 12345678, Acme Pty Ltd.",
        "Account ID 98765432 needs a new administrator.",
        "Our ABN is 51 824 753 556.",
        "ACN 123 456 780 on the invoice is wrong.",
        "Employee ID E-102938 cannot see the dashboard.",
        "Booking reference ABCD-1234 for the training session.",
        "Tracking number 33ABC1234567 shows delivered.",
        "Consignment 1Z999AA10123456784 is delayed.",
        # Product, version and error details.
        "Error code 403 when I open MFA compliance.",
        "Version 2.14.3 of the app crashes on start.",
        "Build 20260314.2 broke the export.",
        "Status code 502 from the reports page since this morning.",
        "Model X200-A4 headset is not supported?",
        "Product code 4567890 is out of stock.",
        "Our postcode is 2000 and the address shows 3000.",
        "The promo code SPRING2026 was not applied.",
        "Discount code 123456 from the newsletter didn't work.",
        "Request id 3f9a2c7b1d4e8a60 from the error page.",
        "The error page showed request id 9c1e4b7a2f3d5e68, time 10:42.",
        "Commit 4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 broke the build",
        "UUID 3fa85f64-5717-4562-b3fc-2c963f66afa6 appears in the log.",
        "Serial number SN-00A1-77B2 on the device.",
        "Licence key ends in ...7X2Q, renewal due.",
        # MFA questions without secrets.
        "I lost my phone with the authenticator app. What should I do?",
        "My recovery codes don't work, I think I used them all. How do I get new ones?",
        "The 6-digit code from my authenticator keeps getting rejected. Is my clock wrong?",
        "How do I regenerate my recovery codes?",
        "Where do I find the setup key if I can't scan the QR code?",
        "Does the portal support hardware security keys?",
        "I was asked for a one-time code but never set up MFA.",
        "Why does Settings say 'Security step needed' after I signed in with TOTP?",
        "Can client staff skip MFA? Our policy is unclear.",
        "I signed in with a recovery code and now there is a reminder on Settings.",
        "After the update the code from the app is six digits instead of eight.",
        "Please explain the difference between not enrolled and signed in without MFA.",
        "The bearer of this message is our new office manager, please give her access.",
        "Our cookie banner overlaps the sign-in button on mobile.",
        "Session timed out after 12 hours, is that expected?",
        "We need a client secret rotated for our integration; who can do that?",
        "Is there an API key for the reporting endpoint?",
        "What does 'evidence unavailable' mean in the compliance report?",
        # Everyday prose with numbers and hyphens.
        "We have 250 staff and 12 administrators across 3 sites.",
        "Please add a third-party integration for our cross-check process.",
        "The state-based rollout is world-class, thanks!",
        "Our team of 1200000 callers is growing (yes, 1.2 million).",
        "Billing shows $123456.78 which cannot be right.",
        "Amount due: AUD 4,829.13 by end of month.",
        "Room 1203, Level 12, 100 Market Street, Sydney NSW 2000.",
        "Between 9am-5pm weekdays works best for a call.",
        "We use Windows 11 23H2 and Chrome 131.0.6778.86.",
        "The CSV export has 10482 rows but the page says 10483.",
        "Hello, I can't find the Security events link anymore.",
        "Thanks for the help last week, all fixed now!",
        "Our partner admin left the company; please remove access for j.smith@example.com.au.",
        "Is the portal available at https://portal.aidial.com.au/reports/2026/03?",
        "Please update our address to 42 Wallaby Way, Sydney.",
        "The page https://portal.aidial.com.au/admin/compliance/?page=2&sort=org is slow.",
        "File C:/Users/priya/Documents/AiDial/Exports/compliance-2026-03-14.csv is empty.",
        "Urgent: our whole org (acme.example.com.au) sees 'No access' since 8:05am.",
        "GRADUATIONCEREMONY tickets? Wrong queue, sorry.",
        "Attached the screenshot named Screenshot_2026-03-14_101530.png",
        "Code review comments: please rename variables in module v2.",
        "The verification email never arrived; I checked spam.",
        "The sign-in page asks for a code but my account is only optional MFA.",
        "My number is 9876 5432, the code never arrives.",
        "The code was sent to 0412 345 678 but never came.",
        "Call 0412345678 about the code please.",
        "Your code of conduct page returns 404.",
        "We logged 123456 minutes of calls this month and the code is fine.",
        "Session cookie settings: is SameSite=Lax required?",
        "sessionid cookie missing after sign-in, is that a bug?",
        "Our cookie policy page needs updating for 2026-2027.",
        "Barcode 9300675024235 on the box.",
        "bar code 930067502 and QR code on the card",
        # Written after the rules were frozen: a held-out check.
        "Hi, I am locked out since Monday 9 March. My recovery codes are in a safe at the "
        "office and I am travelling.",
        "Can you confirm invoice INV-2026-00391 for $1,234.00 was received? Ref 2026031401.",
        "Order no. 8812-3345 arrived damaged.",
        "Phone me: 0413 222 111 or 02 9111 2222",
        "The page said error 500 at 14:32:05 on 15-03-2026.",
        "We are migrating 4500 users on 2026-04-01, please advise on MFA enrolment steps.",
        "Code 1234 for the door at our office is broken (not the portal, sorry!)",
        "I get code mismatch error each time, tried 5 times in 10 min.",
        "Tax invoice 000123456 needs our new ABN 12 345 678 901.",
        "Re: ticket 20260314-0042, still not fixed",
        "Is SSO with Azure AD supported? We have tenant acme-prod-01.",
        "The QR code will not scan on my Samsung S23.",
        "Account acme-admin-2 cannot see the compliance report.",
        "Our team codes in Python 3.12 and uses the API v2 endpoints.",
        "Please update the billing contact to accounts@acme.com.au, phone 1300 555 123.",
        "My authenticator shows 6 digits but the site wants 8?",
        "Batch ABCD1234EFGH5678 failed",
        "Reset link expired after 15 minutes, can you send a new one?",
        "UUID 123e4567-e89b-12d3-a456-426614174000 in the CSV",
        "Order #A1B2C-D3E4F shipped",  # refused: exactly the shape of a recovery code
        # Ordinary text with look-alike characters and recovery-code wording.
        "Order ORD\u201312345 arrived damaged.",
        "The training runs 9:00\u201312:00 on Friday \u2014 can I still join?",
        "Our third\u2011party cross\u2011check tool flagged the invoice.",
        "Please call 0412\u00a0345\u00a0678 after lunch.",
        "Booking ABCD\u20131234 confirmed for the workshop.",
        "I read the recovery\u2011codes page \u2014 where do I regenerate them?",
        "Backup codes: I lost the printout, what now?",
        "Invoice INV\u20112026\u201100042 is overdue.",
        "The Recovery-Code page says I have 8 left.",
        "My RECOVERY CODES ran out; where is the regenerate button?",
        "I saved my backup-codes in our password manager, is that OK?",
        "Use \u2018Refresh security status\u2019 \u2013 it worked after that.",
        "Our team\u00a0name is Platypus Analytics.",
        "Where do I find recovery_codes in the settings page?",
        "The file is at reports/march/final.pdf on the shared drive.",
        "Backup code question: does each one work only once?",
        "recovery codes for order 12345 and invoice 67890 are not related, sorry",
        "Price went from $12\u00a0345 to $13\u00a0000 \u2212 why?",
        # Ids that look like codes without a hyphen: they must still pass (issue 22, item 4).
        "Invoice INV0004271 was paid twice.",
        "Order ORD7731290 is missing an item.",
        "Ticket TCK2026001 has no reply yet.",
        "Order 2026A00042 shipped on Monday.",
        "The promo code SPRING2026 was rejected.",
        "invoice 12345 staff seats, order 67890 items",
        "Our ticket code is SUP1234567 for this issue.",
        "Order number AB 12345 and invoice CD 67890 please.",
    ]
