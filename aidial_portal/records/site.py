"""Django's admin as a read-only records viewer for AiDial administrators.

Mounted at `/admin/records/` (the portal's own `/admin/compliance/` and `/admin/events/` are
separate views). Who may enter is decided from the portal's signed-in session, as everywhere
else: the role `aidial_admin` and a compliant MFA status, never Django's `is_staff` (accounts
have none). The MFA gate has already refused a non-compliant session before any view here
runs; the site checks again, so that a view exempted by mistake still fails closed.

Nothing can be added, changed or deleted: every model admin refuses add, change and delete,
and has no actions (so no "delete selected").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account
from aidial_portal.accounts.permissions import may_inspect_records
from aidial_portal.administration import event_text
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.support.models import SupportRequest

AUDIENCE = "The records pages are for AiDial administrators."  # on the 403 page


class RecordsSite(admin.AdminSite):
    site_header = "AiDial Portal records (read-only)"
    site_title = "AiDial Portal records"
    index_title = "Records"
    site_url = "/"
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        """An `aidial_admin` whose session is MFA-compliant now (session and clock only)."""
        state: session_state.CurrentSignIn | None = getattr(request, "sign_in", None)
        if state is None or state.requirement is None or not may_inspect_records(state.roles):
            return False
        return state.compliance(timezone.now()).compliant

    def admin_view(self, view: Callable[..., Any], cacheable: bool = False) -> Any:
        """As Django's, but every other role gets the portal's 403 page, not a password form."""

        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not self.has_permission(request):
                raise PermissionDenied(AUDIENCE)
            return view(request, *args, **kwargs)

        if not cacheable:
            inner = never_cache(inner)
        if not getattr(view, "csrf_exempt", False):
            inner = csrf_protect(inner)
        return update_wrapper(inner, view)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Signing in happens at the provider, through the portal."""
        if getattr(request, "sign_in", None) is not None:
            raise PermissionDenied(AUDIENCE)
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(reverse("login") + "?" + urlencode({"next": target}))

    def logout(  # type: ignore[override]  # a redirect, not a page
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        """Signing out is the portal's (the page's own form posts there)."""
        return HttpResponseRedirect(self.site_url or "/")


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only: no add, change or delete, and no bulk actions."""

    actions = None
    show_full_result_count = False  # no second COUNT(*) over the whole table

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class AccountAdmin(ReadOnlyAdmin):
    list_display = (
        "login_name",
        "org_domain",
        "role_titles",
        "requirement",
        "last_status",
        "last_factor",
        "last_sign_in_at",
    )
    list_filter = ("requirement", "last_status")
    search_fields = ("login_name", "email", "subject", "org_domain")
    ordering = ("login_name", "id")
    # password: unusable (people sign in at the provider); roles: shown as words below.
    exclude = ("password", "roles")
    readonly_fields = ("role_titles",)

    @admin.display(description="Roles")
    def role_titles(self, account: Account) -> str:
        """Roles as people read them ("Partner Administrator"), not the stored JSON list."""
        return ", ".join(ROLE_TITLES.get(role, role) for role in account.roles or ()) or "—"


class SecurityEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "title", "account", "reason")
    list_filter = ("event_type",)
    list_select_related = ("account",)
    search_fields = ("event_type", "reason", "account__login_name")
    ordering = ("-at", "-id")
    raw_id_fields = ("account",)

    @admin.display(description="Event", ordering="event_type")
    def title(self, event: SecurityEvent) -> str:
        return event_text.title(event.event_type)


class SupportRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "subject")
    list_select_related = ("account",)
    search_fields = ("subject", "account__login_name")
    ordering = ("-created_at", "-id")
    raw_id_fields = ("account",)


site = RecordsSite(name="records")
site.register(Account, AccountAdmin)
site.register(SecurityEvent, SecurityEventAdmin)
site.register(SupportRequest, SupportRequestAdmin)
