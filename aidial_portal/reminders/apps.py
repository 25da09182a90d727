from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "aidial_portal.reminders"
    label = "reminders"
    verbose_name = "MFA reminders"
