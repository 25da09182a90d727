from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "aidial_portal.support"
    label = "support"
