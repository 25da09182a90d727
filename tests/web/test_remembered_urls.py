"""`{% url %}` remembers names without arguments, per URLconf and mount prefix
(aidial_portal/web/templatetags/remembered_urls.py); everything else is Django's tag."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, get_script_prefix, set_script_prefix

from aidial_portal.web.templatetags.remembered_urls import RememberedURLNode


@pytest.fixture
def script_prefix():
    before = get_script_prefix()
    yield set_script_prefix
    set_script_prefix(before)


def _render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_every_template_gets_the_remembering_tag_without_loading_it():
    nodes = Template("{% url 'dashboard' %}").nodelist
    assert [type(node) for node in nodes] == [RememberedURLNode]


def test_the_mount_prefix_of_each_request_is_kept(script_prefix):
    script_prefix("/portal/")
    assert _render("{% url 'settings' %}") == "/portal/settings/"
    script_prefix("/")
    assert _render("{% url 'settings' %}") == "/settings/"
    script_prefix("/other/")
    assert _render("{% url 'settings' %}") == "/other/settings/"


@override_settings(ROOT_URLCONF="tests.web.remembered_urls_conf")
def test_names_with_arguments_are_reversed_with_their_own_arguments():
    assert _render("{% url 'item' 1 %} {% url 'item' pk=2 %} {% url 'item' n %}", n=3) == (
        "/item/1/ /item/2/ /item/3/"
    )


def test_a_changed_urlconf_is_followed():
    assert _render("{% url 'dashboard' %}") == "/"
    with override_settings(ROOT_URLCONF="tests.web.remembered_urls_conf"):
        with pytest.raises(NoReverseMatch):
            _render("{% url 'dashboard' %}")
        assert _render("{% url 'plain' %}") == "/plain/"
    assert _render("{% url 'dashboard' %}") == "/"


def test_as_variable_and_unknown_names_behave_as_djangos_tag():
    assert _render("{% url 'help' as where %}[{{ where }}]") == "[/help/]"
    assert _render("{% url 'no-such-page' as where %}[{{ where }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        _render("{% url 'no-such-page' %}")
