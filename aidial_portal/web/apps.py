from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "aidial_portal.web"
    label = "web"

    def ready(self) -> None:
        from aidial_portal import checks  # noqa: F401  (registers the system checks)
        from aidial_portal.identity import providers  # (also the settings-change receiver)

        # An unreadable or malformed key file stops start-up here, naming the variable.
        providers.service_credentials()

        # Every metric family from the start, at zero (the URLconf names the views).
        from aidial_portal import metrics
        from aidial_portal.config import DEFAULT_RATE_LIMITS
        from aidial_portal.web.request_metrics import view_names

        metrics.export_at_zero(view_names(), DEFAULT_RATE_LIMITS)
