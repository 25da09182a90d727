"""Every page is reached by name, so the portal can be mounted under any path prefix."""

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import aidial_portal

TEMPLATES = sorted(Path(aidial_portal.__file__).parent.glob("*/templates/**/*.html"))
# A link or form target written as a path ("/settings/") instead of {% url %}.
LITERAL_PATH = re.compile(r'(?:href|action|src)="/')


def patterns(resolver=None):
    """The portal's own routes.

    Exempt: the URL patterns of a Django admin site (the read-only records admin mounted at
    `/admin/records/`, app name `admin`). Django writes them, not the portal: some have no
    name (each model's `<object_id>/` redirect and the site's final catch-all), and the site
    reverses its pages through its own namespace (checked below).
    """
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                yield from patterns(entry)
        elif isinstance(entry, URLPattern):
            yield entry


def test_every_route_has_a_name():
    unnamed = [str(entry.pattern) for entry in patterns() if not entry.name]
    assert unnamed == []


def test_the_records_admin_is_reached_by_its_namespace():
    exempt = [
        str(entry.pattern)
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and entry.app_name == "admin"
    ]
    assert exempt == ["admin/records/"]
    assert reverse("records:index") == "/admin/records/"


def test_the_template_check_reads_the_pages_of_every_app():
    # Were the glob to find nothing, the check below would pass without reading a template.
    names = {f"{path.parent.name}/{path.name}" for path in TEMPLATES}
    assert {
        "portal/base.html",
        "portal/settings.html",
        "support/support.html",
        "administration/compliance.html",
    } <= names


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_templates_link_by_route_name_not_by_path(template):
    assert not LITERAL_PATH.findall(template.read_text())
