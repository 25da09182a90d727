from django.urls import include, path

from aidial_portal.records import site as records
from aidial_portal.web.views import (
    auth,
    backchannel,
    errors,
    forward_auth,
    health,
    pages,
    settings_page,
    zitadel_events,
)

urlpatterns = [
    # First: a reverse proxy asks it before every request to another service.
    path("auth/forward/", forward_auth.forward_auth, name="forward-auth"),
    path("", pages.dashboard, name="dashboard"),
    path("actions/confirm-session/", pages.confirm_session, name="confirm-session"),
    path("login/", auth.sign_in, name="login"),
    path("oidc/callback/", auth.callback, name="oidc-callback"),
    path("logout/", auth.sign_out, name="logout"),
    path(
        "oidc/backchannel-logout/", backchannel.backchannel_logout, name="oidc-backchannel-logout"
    ),
    path("zitadel/events/", zitadel_events.zitadel_events, name="zitadel-events"),
    path("signed-out/", auth.signed_out, name="signed-out"),
    path("settings/", settings_page.settings_page, name="settings"),
    path("settings/refresh/", auth.refresh, name="settings-refresh"),
    path("settings/mfa-setup/", settings_page.open_setup, name="settings-mfa-setup"),
    path(
        "settings/recovery-codes/acknowledge/",
        settings_page.acknowledge,
        name="settings-acknowledge",
    ),
    path(
        "settings/recovery-codes/reviewed/",
        settings_page.declare_review,
        name="settings-reviewed",
    ),
    path(
        "settings/provider-security/",
        settings_page.open_review,
        name="settings-provider-security",
    ),
    path(
        "settings/recovery-codes/regenerated/",
        settings_page.declare_regeneration,
        name="settings-regenerated",
    ),
    path(
        "settings/recovery-codes/answer/",
        settings_page.answer_reminder,
        name="settings-answer-reminder",
    ),
    path("settings/manage-mfa/", settings_page.manage_mfa, name="settings-manage-mfa"),
    path("help/", pages.help_page, name="help"),
    path("admin/records/", records.site.urls),
    path("admin/", include("aidial_portal.administration.urls")),
    path("support/", include("aidial_portal.support.urls")),
    path("no-access/", pages.no_access, name="no-access"),
    path("auth/forward/step/", forward_auth.step_needed, name="forward-auth-step"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
]

handler403 = errors.forbidden
handler404 = errors.not_found
handler500 = errors.server_error
