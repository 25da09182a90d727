"""What every page and every API answer shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from local_idp import config

API_PREFIXES = ("/v2/", "/oauth/", "/oidc/", "/.well-known/", "/zitadel.")

# gRPC status codes, as Zitadel's REST gateway reports them.
GRPC_NOT_FOUND = 5
GRPC_UNIMPLEMENTED = 12
GRPC_INTERNAL = 13
GRPC_UNAUTHENTICATED = 16


def page_context(request: HttpRequest) -> dict[str, Any]:
    return {"return_url": config.return_url(), "issuer": config.issuer()}


def api_error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "details": []}, status=status)


def error_page(request: HttpRequest, title: str, message: str, status: int = 400) -> HttpResponse:
    return render(
        request, "local_idp/error.html", {"title": title, "message": message}, status=status
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return api_error(404, GRPC_NOT_FOUND, "Not found.")
    return error_page(request, "Page not found", "There is no page at this address.", 404)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return api_error(500, GRPC_INTERNAL, "Internal error.")
    return error_page(
        request, "Something went wrong", "The provider could not complete the request.", 500
    )
