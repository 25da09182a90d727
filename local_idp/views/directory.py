"""Zitadel's list calls the portal's directory sync makes, with Zitadel's paging and filters.

- `zitadel.authorization.v2.AuthorizationService/ListAuthorizations` (Connect only: the v2
  proto, proto/zitadel/authorization/v2/authorization_service.proto, maps no REST path);
- `zitadel.user.v2.UserService/ListUsers`, REST `POST /v2/users`;
- `zitadel.org.v2.OrganizationService/ListOrganizations`, REST `POST /v2/organizations/_search`.

Paging as Zitadel pages (proto/zitadel/filter/v2/filter.proto, object/v2 ListQuery): `offset`
(a uint64, so a string in JSON), `limit` (default 100, at most 1000, more is an error), `asc`
(default false: newest first). Answers carry `totalResult` (a string) for the whole match. A
filter this provider does not implement is refused, never ignored, so a test cannot pass on a
filter that did nothing. Shapes are checked by the official SDK's models in
tests/idp/test_sdk_directory_contract.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, Final

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from local_idp import actions
from local_idp.models import Grant, Organization, User, the_project
from local_idp.views.api import (
    ConnectError,
    _authentication_problem,
    connect_unary,
    rfc3339,
)
from local_idp.views.common import GRPC_UNAUTHENTICATED, api_error

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
GRPC_INVALID_ARGUMENT: Final = 3

USER_STATES: Final = {
    "active": "USER_STATE_ACTIVE",
    "inactive": "USER_STATE_INACTIVE",
    "locked": "USER_STATE_LOCKED",
    "initial": "USER_STATE_INITIAL",
}


def _window(query: Any) -> tuple[int, int, bool]:
    if query is None:
        query = {}
    if not isinstance(query, dict):
        raise ConnectError("invalid_argument", "pagination must be an object.")
    try:
        offset = int(query.get("offset", 0) or 0)
        limit = int(query.get("limit", 0) or 0) or DEFAULT_LIMIT
    except (TypeError, ValueError):
        raise ConnectError("invalid_argument", "offset and limit must be numbers.") from None
    if offset < 0 or limit < 0:
        raise ConnectError("invalid_argument", "offset and limit must not be negative.")
    if limit > MAX_LIMIT:
        raise ConnectError("invalid_argument", f"limit must be at most {MAX_LIMIT}.")
    return offset, limit, bool(query.get("asc", False))


def _page(items: list[Any], query: Any) -> tuple[list[Any], int, int]:
    offset, limit, asc = _window(query)
    ordered = items if asc else list(reversed(items))
    return ordered[offset : offset + limit], len(items), limit


def _filters(body: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]]:
    found = body.get(key) or []
    if not isinstance(found, list):
        raise ConnectError("invalid_argument", f"{key} must be a list.")
    pairs = []
    for item in found:
        if not isinstance(item, dict) or len(item) != 1:
            raise ConnectError("invalid_argument", f"each of {key} must set one filter.")
        ((name, value),) = item.items()
        if not isinstance(value, dict):
            raise ConnectError("invalid_argument", f"{name} must be an object.")
        pairs.append((name, value))
    return pairs


def _unsupported(name: str) -> ConnectError:
    return ConnectError("invalid_argument", f"the local provider does not implement {name}.")


def _details(at: Any, owner: str) -> dict[str, Any]:
    return {
        "sequence": "1",
        "creationDate": rfc3339(at),
        "changeDate": rfc3339(at),
        "resourceOwner": owner,
    }


# -- ListAuthorizations -----------------------------------------------------------------------


def list_authorizations(body: dict[str, Any]) -> dict[str, Any]:
    project = the_project()
    grants = Grant.objects.select_related("user", "organization").order_by(
        "user__created_at", "user_id", "organization_id", "id"
    )
    for name, value in _filters(body, "filters"):
        if name == "projectId":
            if value.get("id") != project.id:
                grants = grants.none()
        elif name == "organizationId":
            grants = grants.filter(organization_id=value.get("id"))
        elif name == "userId":
            grants = grants.filter(user_id=value.get("id"))
        elif name == "inUserIds":
            grants = grants.filter(user_id__in=list(value.get("ids") or []))
        elif name == "userOrganizationId":
            grants = grants.filter(user__organization_id=value.get("id"))
        elif name == "state":
            # Every authorization here is active.
            if value.get("state") != "STATE_ACTIVE":
                grants = grants.none()
        elif name == "roleKey":
            grants = grants.filter(role=value.get("key"))
        else:
            raise _unsupported(name)
    # Zitadel keeps one authorization per person, organisation and project, with its roles;
    # here each role is a grant of its own (`local_idp.models.Grant`), and its `user.grant.*`
    # events name it by `actions.grant_id`, so each is listed as an authorization with that id.
    authorizations = [_authorization(grant, project.id, project.name) for grant in grants]
    page, total, limit = _page(authorizations, body.get("pagination"))
    return {
        "pagination": {"totalResult": str(total), "appliedLimit": str(limit)},
        "authorizations": page,
    }


def _authorization(grant: Grant, project_id: str, project_name: str) -> dict[str, Any]:
    user, org = grant.user, grant.organization
    return {
        "id": actions.grant_id(grant),
        "creationDate": rfc3339(user.created_at),
        "changeDate": rfc3339(user.created_at),
        "project": {"id": project_id, "name": project_name, "organizationId": org.id},
        "organization": {"id": org.id, "name": org.name},
        "user": {
            "id": user.id,
            "preferredLoginName": user.login_name,
            "displayName": user.display_name,
            "organizationId": user.organization_id,
        },
        "state": "STATE_ACTIVE",
        "roles": [{"key": grant.role, "displayName": grant.role, "group": ""}],
    }


# -- ListUsers --------------------------------------------------------------------------------


def list_users(body: dict[str, Any]) -> dict[str, Any]:
    users = User.objects.order_by("created_at", "id")
    for name, value in _filters(body, "queries"):
        if name == "inUserIdsQuery":
            users = users.filter(pk__in=list(value.get("userIds") or []))
        elif name == "organizationIdQuery":
            users = users.filter(organization_id=value.get("organizationId"))
        elif name == "stateQuery":
            wanted = {v: k for k, v in USER_STATES.items()}.get(str(value.get("state")))
            users = users.filter(state=wanted) if wanted else users.none()
        else:
            raise _unsupported(name)
    page, total, _ = _page(list(users), body.get("query"))
    return {
        "details": {"totalResult": str(total), "timestamp": rfc3339(timezone.now())},
        "sortingColumn": "USER_FIELD_NAME_UNSPECIFIED",
        "result": [_user(user) for user in page],
    }


def _user(user: User) -> dict[str, Any]:
    found: dict[str, Any] = {
        "userId": user.id,
        "details": _details(user.created_at, user.organization_id),
        "state": USER_STATES.get(user.state, "USER_STATE_UNSPECIFIED"),
        "username": user.login_name,
        "loginNames": [user.login_name],
        "preferredLoginName": user.login_name,
    }
    if user.kind == User.MACHINE:
        found["machine"] = {"name": user.display_name, "accessTokenType": "ACCESS_TOKEN_TYPE_JWT"}
    else:
        given, _, family = user.display_name.partition(" ")
        found["human"] = {
            "profile": {"givenName": given, "familyName": family, "displayName": user.display_name},
            "email": {"email": user.email, "isVerified": user.email_verified},
        }
    return found


# -- ListOrganizations ------------------------------------------------------------------------


def list_organizations(body: dict[str, Any]) -> dict[str, Any]:
    orgs = Organization.objects.order_by("id")
    for name, value in _filters(body, "queries"):
        if name == "idQuery":
            orgs = orgs.filter(pk=value.get("id"))
        elif name == "nameQuery":
            method = value.get("method", "TEXT_QUERY_METHOD_EQUALS")
            if method != "TEXT_QUERY_METHOD_EQUALS":
                raise _unsupported(f"nameQuery {method}")
            orgs = orgs.filter(name=value.get("name"))
        elif name == "domainQuery":
            orgs = orgs.filter(primary_domain=value.get("domain"))
        else:
            raise _unsupported(name)
    page, total, _ = _page(list(orgs), body.get("query"))
    now = timezone.now()
    return {
        "details": {"totalResult": str(total), "timestamp": rfc3339(now)},
        "sortingColumn": "ORGANIZATION_FIELD_NAME_UNSPECIFIED",
        "result": [
            {
                "id": org.id,
                "details": _details(now, org.id),
                "state": "ORGANIZATION_STATE_ACTIVE",
                "name": org.name,
                "primaryDomain": org.primary_domain,
            }
            for org in page
        ],
    }


# -- the two transports -----------------------------------------------------------------------

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def rest_post(handler: Handler) -> Callable[[HttpRequest], HttpResponse]:
    """The REST gateway's form of a list call: POST, JSON body, gRPC-style errors."""

    @csrf_exempt  # a bearer-token API: no cookie, so nothing for CSRF to protect
    @wraps(handler)
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            response = api_error(405, 12, "Method not allowed.")
            response["Allow"] = "POST"
            return response
        problem = _authentication_problem(request)
        if problem:
            return api_error(401, GRPC_UNAUTHENTICATED, problem)
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return api_error(400, GRPC_INVALID_ARGUMENT, "The request body is not a JSON object.")
        try:
            return JsonResponse(handler(body))
        except ConnectError as error:
            return api_error(400, GRPC_INVALID_ARGUMENT, error.message)

    return view


def connect_and_rest(handler: Handler) -> tuple[Any, Any]:
    return connect_unary(handler), rest_post(handler)


def paths() -> Iterable[tuple[str, Any]]:
    authorizations = connect_unary(list_authorizations)
    users_connect, users_rest = connect_and_rest(list_users)
    orgs_connect, orgs_rest = connect_and_rest(list_organizations)
    return [
        ("zitadel.authorization.v2.AuthorizationService/ListAuthorizations", authorizations),
        ("zitadel.user.v2.UserService/ListUsers", users_connect),
        ("v2/users", users_rest),
        ("zitadel.org.v2.OrganizationService/ListOrganizations", orgs_connect),
        ("v2/organizations/_search", orgs_rest),
    ]
