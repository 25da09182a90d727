"""The directory sync's list calls on the local provider, parsed by the official SDK's models
(every answer through the `api` fixture is), with Zitadel's paging and filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from zitadel_client import Zitadel
from zitadel_client.models import (
    AuthorizationServiceAuthorizationsSearchFilter,
    AuthorizationServiceIDFilter,
    AuthorizationServiceListAuthorizationsRequest,
    AuthorizationServicePaginationRequest,
    OrganizationServiceListOrganizationsRequest,
    UserServiceInUserIDQuery,
    UserServiceListUsersRequest,
    UserServiceSearchQuery,
    UserServiceUserState,
)

from tests.idp import sdk_contract
from tests.support.idp import LocalIdp

AUTHORIZATIONS = "/zitadel.authorization.v2.AuthorizationService/ListAuthorizations"
USERS = ("/zitadel.user.v2.UserService/ListUsers", "/v2/users")
ORGANISATIONS = (
    "/zitadel.org.v2.OrganizationService/ListOrganizations",
    "/v2/organizations/_search",
)


@pytest.fixture(scope="module")
def people(local_idp: LocalIdp) -> dict[str, dict[str, Any]]:
    local_idp.add_org("Directory Partners")
    return {
        "admin": local_idp.add_user(
            "dir.admin@example.test",
            "Correct-horse-7!",
            ["partner_admin"],
            org="Directory Partners",
        ),
        "staff": local_idp.add_user(
            "dir.staff@example.test",
            "Correct-horse-7!",
            ["client_staff"],
            grants=[("Directory Partners", "partner_user")],
        ),
    }


@pytest.fixture(scope="module")
def project_id(local_idp: LocalIdp) -> str:
    return local_idp.project_id()


def _all_pages(api: httpx.Client, path: str, body: dict[str, Any], key: str) -> list[Any]:
    found: list[Any] = []
    window = "pagination" if key == "authorizations" else "query"
    while True:
        page = {"offset": str(len(found)), "limit": 1, "asc": True}
        answer = api.post(path, json={**body, window: page})
        assert answer.status_code == 200, answer.text
        document = answer.json()
        items = document.get(key, [])
        found += items
        total = document["pagination" if key == "authorizations" else "details"]["totalResult"]
        if not items or len(found) >= int(total):
            return found


def test_authorizations_of_the_project_are_listed_page_by_page(
    api: httpx.Client, people: dict[str, Any], project_id: str
) -> None:
    before = len(sdk_contract.checked)
    body = {"filters": [{"projectId": {"id": project_id}}]}

    found = _all_pages(api, AUTHORIZATIONS, body, "authorizations")

    mine = {
        (item["user"]["id"], item["organization"]["name"]): [r["key"] for r in item["roles"]]
        for item in found
        if item["user"]["id"] in {people["admin"]["user_id"], people["staff"]["user_id"]}
    }
    assert mine[(people["admin"]["user_id"], "Directory Partners")] == ["partner_admin"]
    assert mine[(people["staff"]["user_id"], "Directory Partners")] == ["partner_user"]
    assert len(mine) == 3  # the staff member's own organisation too
    assert len(sdk_contract.checked) - before >= len(found)
    other = api.post(AUTHORIZATIONS, json={"filters": [{"projectId": {"id": "1"}}]}).json()
    assert other.get("authorizations", []) == []


@pytest.mark.parametrize("path", USERS)
def test_users_are_listed_by_id_with_state_and_profile(
    api: httpx.Client, people: dict[str, Any], path: str
) -> None:
    ids = [people["admin"]["user_id"], people["staff"]["user_id"]]

    found = _all_pages(api, path, {"queries": [{"inUserIdsQuery": {"userIds": ids}}]}, "result")

    assert {user["userId"] for user in found} == set(ids)
    admin = next(user for user in found if user["userId"] == ids[0])
    assert admin["state"] == "USER_STATE_ACTIVE"
    assert admin["preferredLoginName"] == "dir.admin@example.test"
    assert admin["human"]["email"]["email"] == "dir.admin@example.test"


@pytest.mark.parametrize("path", ORGANISATIONS)
def test_organisations_are_listed_with_their_names(
    api: httpx.Client, people: dict[str, Any], path: str
) -> None:
    found = _all_pages(api, path, {}, "result")
    assert "Directory Partners" in {org["name"] for org in found}
    one = api.post(path, json={"queries": [{"nameQuery": {"name": "Directory Partners"}}]})
    assert [org["name"] for org in one.json()["result"]] == ["Directory Partners"]


def test_newest_first_unless_ascending_and_limits_as_zitadel(
    api: httpx.Client, people: dict[str, Any]
) -> None:
    ids = [people["admin"]["user_id"], people["staff"]["user_id"]]
    query = {"queries": [{"inUserIdsQuery": {"userIds": ids}}]}

    default = api.post(USERS[0], json=query).json()["result"]
    too_many = api.post(USERS[0], json={**query, "query": {"limit": 1001}})
    unknown = api.post(USERS[0], json={"queries": [{"phoneQuery": {"number": "1"}}]})

    assert [user["userId"] for user in default] == ids[::-1]
    assert (too_many.status_code, too_many.json()["code"]) == (400, "invalid_argument")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid_argument")


def test_the_sdk_client_lists_authorizations_users_and_organisations(
    local_idp: LocalIdp, people: dict[str, Any], project_id: str, service_token: str
) -> None:
    admin_id = people["admin"]["user_id"]
    with Zitadel.with_access_token(local_idp.issuer, service_token) as sdk:
        authorizations = sdk.authorizations.list_authorizations(
            AuthorizationServiceListAuthorizationsRequest(
                pagination=AuthorizationServicePaginationRequest(limit=1000, asc=True),
                filters=[
                    AuthorizationServiceAuthorizationsSearchFilter(
                        project_id=AuthorizationServiceIDFilter(id=project_id)
                    )
                ],
            )
        )
        users = sdk.users.list_users(
            UserServiceListUsersRequest(
                queries=[
                    UserServiceSearchQuery(
                        in_user_ids_query=UserServiceInUserIDQuery(user_ids=[admin_id])
                    )
                ]
            )
        )
        organisations = sdk.organizations.list_organizations(
            OrganizationServiceListOrganizationsRequest()
        )

    assert admin_id in {a.user.id for a in authorizations.authorizations or [] if a.user}
    assert [user.state for user in users.result or []] == [UserServiceUserState.USER_STATE_ACTIVE]
    assert "Directory Partners" in {org.name for org in organisations.result or []}


def test_authorization_ids_are_the_grant_ids_of_the_providers_events(
    api: httpx.Client, local_idp: LocalIdp, people: dict[str, Any], project_id: str
) -> None:
    # The portal learns whose a grant is from these ids; `user.grant.removed` names only it.
    staff = people["staff"]
    body = {"filters": [{"projectId": {"id": project_id}}, {"userId": {"id": staff["user_id"]}}]}
    listed = {
        item["organization"]["name"]: item["id"]
        for item in _all_pages(api, AUTHORIZATIONS, body, "authorizations")
    }

    removed = local_idp.cli(
        "remove-grant",
        "--login",
        "dir.staff@example.test",
        "--grant",
        "Directory Partners:partner_user",
    )

    assert removed["removed_grant"] == listed["Directory Partners"]
    after = _all_pages(api, AUTHORIZATIONS, body, "authorizations")
    assert removed["removed_grant"] not in {item["id"] for item in after}
