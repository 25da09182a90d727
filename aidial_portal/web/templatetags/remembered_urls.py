"""`{% url %}` that remembers the URLs of names without arguments (a template builtin).

Every signed-in page reverses the same ten names (the brand, the navigation, sign-out, help),
and Django's `reverse` walks the resolver each time: a sixth of the dashboard's cost. A name
without arguments reverses to the same URL for as long as the URLconf, the namespace the page
was resolved in and the mount prefix (`AIDIAL_BASE_URL`'s path, set per request as the script
prefix) stay the same, so those four are the key. Names with arguments, and everything else the
tag does (`as var`, escaping, NoReverseMatch), are Django's own.

It replaces the built-in `url` tag (`TEMPLATES` `builtins` in settings), so every template,
Django's admin included, gets it without loading anything.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context, Library, Node
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = Library()


@lru_cache(maxsize=512)
def _reversed(view_name: str, current_app: str | None, urlconf: str | None, prefix: str) -> str:
    # `urlconf` and `prefix` are what `reverse` reads from the thread; they are in the key only.
    return reverse(view_name, current_app=current_app)


def reverse_plain(view_name: str, current_app: str | None = None) -> str:
    """`reverse(view_name)` for a name without arguments, remembered (see the module)."""
    return _reversed(view_name, current_app, get_urlconf(), get_script_prefix())


@receiver(setting_changed)
def _forget(*, setting: str, **_: Any) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME"}:
        _reversed.cache_clear()


class RememberedURLNode(URLNode):
    def render(self, context: Context) -> str:
        if self.args or self.kwargs:
            return super().render(context)
        view_name = self.view_name.resolve(context)
        try:  # as Django's tag chooses it
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = reverse_plain(view_name, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> Node:
    node = django_url(parser, token)
    return RememberedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
