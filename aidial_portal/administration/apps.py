from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "aidial_portal.administration"
    label = "administration"

    def ready(self) -> None:
        from aidial_portal.administration import retention  # noqa: F401  (registers the check)
