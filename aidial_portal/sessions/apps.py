from django.apps import AppConfig


class PortalSessionsConfig(AppConfig):
    """Portal sessions that follow the provider: back-channel logout, lifetimes, revalidation."""

    name = "aidial_portal.sessions"
    # `sessions` is django.contrib.sessions' label.
    label = "portal_sessions"
