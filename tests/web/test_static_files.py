"""Static files in production: collected under content-hashed names, compressed, cached for ever."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.test import override_settings

from aidial_portal.cli import collect_static_if_stale
from tests.support.servers import PortalServer, start_portal

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
HASHED_STYLESHEET = re.compile(r'href="(/static/portal/portal\.[0-9a-f]{12}\.css)"')


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    server = start_portal(tmp_path_factory.mktemp("static"))
    yield server
    server.stop()


def test_served_pages_link_the_stylesheet_under_its_content_hash(portal: PortalServer) -> None:
    page = httpx.get(portal.url("/help/"))
    assert page.status_code == 200
    match = HASHED_STYLESHEET.search(page.text)
    assert match, page.text[:500]

    stylesheet = httpx.get(portal.url(match.group(1)), headers={"Accept-Encoding": "gzip"})
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert stylesheet.headers["content-encoding"] == "gzip"
    assert "immutable" in stylesheet.headers["cache-control"]


def test_serve_collected_into_the_data_directory(portal: PortalServer) -> None:
    assert (portal.data_dir / "static" / "staticfiles.json").is_file()


def test_collectstatic_runs_only_when_the_collected_files_are_missing_or_stale(
    tmp_path: Path,
) -> None:
    root = tmp_path / "static"
    with override_settings(STORAGES=MANIFEST_STORAGE, STATIC_ROOT=str(root)):
        assert collect_static_if_stale() is True
        manifest = root / "staticfiles.json"
        assert '"portal/portal.css"' in manifest.read_text()
        assert collect_static_if_stale() is False

        os.utime(manifest, (0, 0))  # older than every source file
        assert collect_static_if_stale() is True
        assert manifest.stat().st_mtime > 0


def test_development_storage_collects_nothing(tmp_path: Path) -> None:
    with override_settings(STATIC_ROOT=str(tmp_path / "static")):
        assert collect_static_if_stale() is False
    assert not (tmp_path / "static").exists()
