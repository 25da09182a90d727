from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "aidial_portal.accounts"
    label = "accounts"

    def ready(self) -> None:
        # django.contrib.auth (earlier in INSTALLED_APPS, so already ready) saves `last_login`
        # in an UPDATE of its own after every login(); the sign-in sets it in the one save of
        # the account it makes anyway (accounts/sign_in.py).
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
