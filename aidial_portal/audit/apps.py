from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "aidial_portal.audit"
    label = "audit"
