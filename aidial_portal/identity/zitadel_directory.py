"""Zitadel's directory, read with the service user: who holds the project's roles, where, and
what each person has enrolled. Used by `aidial-portal directory sync`.

Every call is a Connect unary call (`POST /<package>.<Service>/<Method>`, JSON body), which
Zitadel v4 serves for every v2 service and which the official SDK (`zitadel-client`) makes:

- `zitadel.authorization.v2.AuthorizationService/ListAuthorizations`
  (proto/zitadel/authorization/v2/authorization_service.proto, authorization.proto): request
  `{"pagination": {"offset", "limit", "asc"}, "filters": [{"projectId": {"id"}}]}`, answer
  `{"pagination": {"totalResult", "appliedLimit"}, "authorizations": [{"id", "state",
  "organization": {"id", "name"}, "user": {"id", "preferredLoginName", "displayName",
  "organizationId"}, "roles": [{"key"}]}]}` (SDK: `AuthorizationServiceListAuthorizationsRequest`
  / `...Response`). Needs `user.grant.read`. The project filter includes authorizations given
  through project grants; an inactive authorization is left out of tokens, so it is not a role.
- `zitadel.user.v2.UserService/ListUsers` (proto/zitadel/user/v2/user_service.proto): request
  `{"query": {"offset", "limit", "asc"}, "queries": [{"inUserIdsQuery": {"userIds"}}]}`, answer
  `{"details": {"totalResult"}, "result": [{"userId", "state", "preferredLoginName",
  "human": {"profile": {"displayName"}, "email": {"email"}}}]}` (SDK:
  `UserServiceListUsersResponse`, `UserServiceUser`, `UserServiceUserState`). Needs `user.read`.
- `zitadel.org.v2.OrganizationService/ListOrganizations` (proto/zitadel/org/v2/org_service.proto):
  `{"query": {...}}` -> `{"details": {"totalResult"}, "result": [{"id", "name",
  "primaryDomain", "state"}]}` (SDK: `OrganizationServiceListOrganizationsResponse`). Needs
  `org.read`.
- `zitadel.user.v2.UserService/ListAuthenticationMethodTypes`: `{"userId"}` ->
  `{"authMethodTypes": [...]}`; a person Zitadel no longer has answers `not_found`.

64-bit counts (`offset`, `totalResult`) are strings in protobuf JSON. A failure raises
`DirectoryUnavailable` with a reason tag and what to fix; never a token or a response body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import httpx

from aidial_portal.identity import http as shared_http
from aidial_portal.identity.service_credentials import CredentialsUnavailable, ServiceCredentials

LIST_AUTHORIZATIONS: Final = "/zitadel.authorization.v2.AuthorizationService/ListAuthorizations"
LIST_USERS: Final = "/zitadel.user.v2.UserService/ListUsers"
LIST_ORGANIZATIONS: Final = "/zitadel.org.v2.OrganizationService/ListOrganizations"
LIST_METHODS: Final = "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes"
# Zitadel's default list limit is 100, its configured maximum 1000 (SDK PaginationRequest).
PAGE_SIZE: Final = 500
# ListUsers takes the ids in one `inUserIdsQuery`; a few hundred keep the body small.
IDS_PER_CALL: Final = 200
TOTP_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_TOTP"
RECOVERY_CODE_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE"

# What to fix, by reason: an operator reads this on the scheduler's log.
FIXES: Final[Mapping[str, str]] = {
    "provider_unconfigured": (
        "set AIDIAL_ZITADEL_SERVICE_TOKEN or AIDIAL_ZITADEL_SERVICE_KEY_FILE (a service user "
        "with a read-only role such as IAM_OWNER_VIEWER)"
    ),
    "provider_unauthorised": (
        "the service user was refused: check AIDIAL_ZITADEL_SERVICE_TOKEN or "
        "AIDIAL_ZITADEL_SERVICE_KEY_FILE, and give it a role with user.grant.read, user.read "
        "and org.read (IAM_OWNER_VIEWER is read-only and has all three)"
    ),
    "provider_unreachable": "check AIDIAL_ZITADEL_API_URL (the provider could not be reached)",
    "provider_timeout": "check AIDIAL_ZITADEL_API_URL (the provider did not answer in time)",
    "provider_error": "Zitadel answered with an error; see its logs, then run again",
    "provider_malformed": (
        "Zitadel's answer was not the documented shape: check AIDIAL_ZITADEL_API_URL points "
        "at Zitadel v4 or later"
    ),
    "project_unconfigured": "set AIDIAL_ZITADEL_PROJECT_ID (the portal's project in Zitadel)",
}


class DirectoryUnavailable(Exception):
    """The directory could not be read; `reason` is a tag, `fix` says what to change."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = FIXES.get(reason, FIXES["provider_error"])


@dataclass(frozen=True)
class Authorization:
    """Roles held by one person in one organisation (an active authorization). `grant_id` is
    the authorization's `id` (SDK: `AuthorizationServiceAuthorization.id`, in
    zitadel_client/models/authorization_service_authorization.py), the same id that
    Zitadel's `user.grant.*` events carry as their `aggregateID`."""

    grant_id: str
    user_id: str
    org_id: str
    org_name: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Person:
    user_id: str
    state: str  # "active", "inactive", "locked", "initial", "deleted"
    login_name: str
    display_name: str
    email: str


@dataclass(frozen=True)
class Organisation:
    org_id: str
    name: str
    primary_domain: str


@dataclass(frozen=True)
class Enrolment:
    totp: bool
    recovery_codes: bool


_USER_STATES: Final = {
    "USER_STATE_ACTIVE": "active",
    "USER_STATE_INACTIVE": "inactive",
    "USER_STATE_LOCKED": "locked",
    "USER_STATE_INITIAL": "initial",
    "USER_STATE_DELETED": "deleted",
}


class _Malformed(Exception):
    pass


class ZitadelDirectory:
    """The three lists and the per-person methods; thread-safe. Without `http`, the process's
    shared client for the API's origin (`identity.http`)."""

    def __init__(
        self,
        api_url: str,
        credentials: ServiceCredentials,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._http = http if http is not None else shared_http.client_for(self._api_url)
        self._page_size = page_size
        self._renew_lock = threading.Lock()

    # -- the lists -----------------------------------------------------------------------

    def authorizations(self, project_id: str) -> list[Authorization]:
        if not project_id:
            raise DirectoryUnavailable("project_unconfigured")
        found: list[Authorization] = []
        for item in self._pages(
            LIST_AUTHORIZATIONS,
            {"filters": [{"projectId": {"id": project_id}}]},
            query_key="pagination",
            total=lambda doc: _object(doc.get("pagination", {})).get("totalResult"),
            items="authorizations",
        ):
            if item.get("state", "STATE_ACTIVE") != "STATE_INACTIVE":
                found.append(_authorization(item))
        return found

    def people(self, user_ids: Iterable[str]) -> dict[str, Person]:
        """The people Zitadel still has among `user_ids` (a removed one is absent)."""
        ids = sorted(set(user_ids))
        found: dict[str, Person] = {}
        for start in range(0, len(ids), IDS_PER_CALL):
            chunk = ids[start : start + IDS_PER_CALL]
            for item in self._pages(
                LIST_USERS,
                {"queries": [{"inUserIdsQuery": {"userIds": chunk}}]},
                query_key="query",
                total=lambda doc: _object(doc.get("details", {})).get("totalResult"),
                items="result",
            ):
                person = _person(item)
                found[person.user_id] = person
        return found

    def organisations(self) -> dict[str, Organisation]:
        found: dict[str, Organisation] = {}
        for item in self._pages(
            LIST_ORGANIZATIONS,
            {},
            query_key="query",
            total=lambda doc: _object(doc.get("details", {})).get("totalResult"),
            items="result",
        ):
            org_id = _required(item.get("id"))
            found[org_id] = Organisation(
                org_id=org_id,
                name=_text(item.get("name")),
                primary_domain=_text(item.get("primaryDomain")),
            )
        return found

    def enrolments(self, user_ids: Iterable[str], *, concurrency: int) -> dict[str, Enrolment]:
        """Each person's enrolment, at most `concurrency` calls at once; a person Zitadel no
        longer has is left out. The first failure stops the run (nothing is half-read)."""
        ids = sorted(set(user_ids))
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="directory") as pool:
            results = list(pool.map(self._enrolment, ids))
        return {user_id: found for user_id, found in zip(ids, results, strict=True) if found}

    def _enrolment(self, user_id: str) -> Enrolment | None:
        document = self._call(LIST_METHODS, {"userId": user_id}, not_found_is_none=True)
        if document is None:
            return None
        try:
            types = _list(document.get("authMethodTypes", []))
        except _Malformed:
            raise DirectoryUnavailable("provider_malformed") from None
        return Enrolment(totp=TOTP_METHOD in types, recovery_codes=RECOVERY_CODE_METHOD in types)

    # -- paging and calls ----------------------------------------------------------------

    def _pages(
        self,
        path: str,
        body: dict[str, Any],
        *,
        query_key: str,
        total: Callable[[dict[str, Any]], Any],
        items: str,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list, page by page (offset and limit, ascending by creation)."""
        offset = 0
        while True:
            page = {"offset": str(offset), "limit": self._page_size, "asc": True}
            document = self._call(path, {**body, query_key: page})
            assert document is not None  # noqa: S101 - only enrolments pass not_found_is_none
            try:
                batch = [_object(item) for item in _list(document.get(items, []))]
                expected = int(total(document) or 0)
                yield from batch
            except (_Malformed, ValueError, TypeError):
                raise DirectoryUnavailable("provider_malformed") from None
            offset += len(batch)
            if not batch or offset >= expected:
                return

    def _call(
        self, path: str, body: dict[str, Any], *, not_found_is_none: bool = False
    ) -> dict[str, Any] | None:
        rejected: str | None = None
        while True:
            authorization = self._authorization(rejected)
            try:
                response = self._http.post(
                    self._api_url + path,
                    json=body,
                    headers={
                        "Authorization": authorization,
                        "Accept": "application/json",
                        "Connect-Protocol-Version": "1",
                    },
                    timeout=self._timeout,
                )
            except httpx.TimeoutException:
                raise DirectoryUnavailable("provider_timeout") from None
            except httpx.HTTPError:
                raise DirectoryUnavailable("provider_unreachable") from None
            if response.status_code == 401 and rejected is None:
                # A cached service-user token may have been revoked or expired early: once.
                rejected = authorization
                with self._renew_lock:
                    self._credentials.invalidate()
                continue
            if response.status_code == 404 and not_found_is_none:
                return None
            if response.status_code in {401, 403}:
                raise DirectoryUnavailable("provider_unauthorised")
            if response.status_code != 200:
                raise DirectoryUnavailable("provider_error")
            try:
                return _object(response.json())
            except (ValueError, _Malformed):
                raise DirectoryUnavailable("provider_malformed") from None

    def _authorization(self, rejected: str | None) -> str:
        try:
            authorization = self._credentials.authorization()
        except CredentialsUnavailable as error:
            raise DirectoryUnavailable(error.reason) from None
        if authorization is None:
            raise DirectoryUnavailable("provider_unconfigured")
        if authorization == rejected:
            # A personal access token cannot be renewed: the same header gets the same 401.
            raise DirectoryUnavailable("provider_unauthorised")
        return authorization


def _authorization(item: dict[str, Any]) -> Authorization:
    try:
        user, org = _object(item.get("user")), _object(item.get("organization"))
        roles = (_text(_object(role).get("key")) for role in _list(item.get("roles", [])))
        return Authorization(
            grant_id=_required(item.get("id")),
            user_id=_required(user.get("id")),
            org_id=_required(org.get("id")),
            org_name=_text(org.get("name")),
            roles=tuple(role for role in roles if role),
        )
    except _Malformed:
        raise DirectoryUnavailable("provider_malformed") from None


def _person(item: dict[str, Any]) -> Person:
    try:
        human = _object(item.get("human") or {})
        profile = _object(human.get("profile") or {})
        email = _object(human.get("email") or {})
        return Person(
            user_id=_required(item.get("userId")),
            state=_USER_STATES.get(_text(item.get("state")), "unknown"),
            login_name=_text(item.get("preferredLoginName")) or _text(item.get("username")),
            display_name=_text(profile.get("displayName")),
            email=_text(email.get("email")),
        )
    except _Malformed:
        raise DirectoryUnavailable("provider_malformed") from None


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed
    return value


def _required(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _Malformed
    return text
