from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "aidial_portal.accounts"
    label = "accounts"
