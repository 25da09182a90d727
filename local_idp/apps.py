from django.apps import AppConfig


class LocalIdpConfig(AppConfig):
    name = "local_idp"
    label = "local_idp"
    verbose_name = "Local identity provider"
    default_auto_field = "django.db.models.BigAutoField"
