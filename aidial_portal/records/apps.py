from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "aidial_portal.records"
    label = "records"
    verbose_name = "Records (read-only)"
