from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "aidial_portal.web"
    label = "web"

    def ready(self) -> None:
        from aidial_portal import checks  # noqa: F401  (registers the system checks)
        from aidial_portal.identity import services  # noqa: F401  (settings-change receiver)
