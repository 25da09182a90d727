"""A URLconf for tests/web/test_remembered_urls.py: one name with an argument, one without."""

from django.http import HttpResponse
from django.urls import path


def _view(request, pk=None):
    return HttpResponse("")


urlpatterns = [
    path("plain/", _view, name="plain"),
    path("item/<int:pk>/", _view, name="item"),
]
