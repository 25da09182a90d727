"""Every Session API and authentication-methods answer, parsed with the official SDK's models.

``zitadel-client`` is generated from Zitadel's own protos, so it is a check of the provider's
shapes that this project did not write. Pydantic ignores unknown keys, so besides parsing, every
key of the answer must be a field the SDK knows (a misspelt factor would otherwise pass).
"""

from __future__ import annotations

import types
import typing
from typing import Any

import httpx
from pydantic import BaseModel
from zitadel_client.models import (
    AuthorizationServiceListAuthorizationsResponse,
    OrganizationServiceListOrganizationsResponse,
    SessionServiceGetSessionResponse,
    UserServiceListAuthenticationMethodTypesResponse,
    UserServiceListUsersResponse,
)

SESSION_PATHS = ("/v2/sessions/", "/zitadel.session.v2.SessionService/GetSession")
METHODS_PATHS = (
    "/authentication_methods",
    "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes",
)
# The directory sync's list calls: each path (Connect, and REST where Zitadel maps one) and the
# SDK's model of its answer.
LIST_MODELS: dict[str, type[BaseModel]] = {
    "/zitadel.authorization.v2.AuthorizationService/ListAuthorizations": (
        AuthorizationServiceListAuthorizationsResponse
    ),
    "/zitadel.user.v2.UserService/ListUsers": UserServiceListUsersResponse,
    "/v2/users": UserServiceListUsersResponse,
    "/zitadel.org.v2.OrganizationService/ListOrganizations": (
        OrganizationServiceListOrganizationsResponse
    ),
    "/v2/organizations/_search": OrganizationServiceListOrganizationsResponse,
}
checked: list[str] = []  # the paths checked in this run (a test asserts the hook ran)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found = []
    for arg in typing.get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            found.append(arg)
        elif typing.get_args(arg) and not isinstance(arg, types.GenericAlias | type):
            found.extend(_models_in(arg))
    return found


def assert_only_known_fields(model: type[BaseModel], data: Any, where: str = "") -> None:
    if not isinstance(data, dict):
        return
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    unknown = set(data) - set(fields)
    assert not unknown, f"{model.__name__}{where}: fields the SDK does not know: {unknown}"
    for key, value in data.items():
        for inner in _models_in(fields[key].annotation):
            assert_only_known_fields(inner, value, f"{where}.{key}")


def parse(path: str, body: dict[str, Any]) -> BaseModel:
    """The SDK's model of an answer to ``path`` (raises if it does not fit)."""
    model: type[BaseModel]
    if path.startswith(SESSION_PATHS):
        model = SessionServiceGetSessionResponse
    elif path.endswith(METHODS_PATHS):
        model = UserServiceListAuthenticationMethodTypesResponse
    elif path in LIST_MODELS:
        model = LIST_MODELS[path]
    else:
        raise AssertionError(f"no SDK model for {path}")
    assert_only_known_fields(model, body)
    parsed = model.from_dict(body)
    assert parsed is not None
    return parsed


def check_response(response: httpx.Response) -> None:
    """An httpx response hook: successful Zitadel API answers must parse with the SDK."""
    path = response.request.url.path
    is_api = path.startswith(SESSION_PATHS) or path.endswith(METHODS_PATHS) or path in LIST_MODELS
    if response.status_code != 200 or not is_api:
        return
    response.read()
    parse(path, response.json())
    checked.append(path)
