from django.urls import path

from local_idp.views import api, console, console_users, directory, login, oidc, signout

handler404 = "local_idp.views.common.handler404"
handler500 = "local_idp.views.common.handler500"

urlpatterns = [
    path(".well-known/openid-configuration", oidc.discovery),
    path("oauth/v2/authorize", oidc.authorize),
    path("oauth/v2/authorize/callback", oidc.authorize_callback),
    path("oauth/v2/token", oidc.token),
    path("oauth/v2/keys", oidc.jwks),
    path("oidc/v1/userinfo", oidc.userinfo),
    path("oidc/v1/end_session", signout.end_session),
    path("ui/v2/login/logout", signout.logout_page),
    path("ui/login/login", login.login),
    path("ui/login/mfa/verify", login.mfa_verify),
    path("ui/login/mfa/prompt", login.mfa_prompt),
    path("ui/console/users/me", console.security),
    path("ui/console/users/me/totp", console.add_totp),
    path("ui/console/users/me/totp/remove", console.remove_totp),
    path("ui/console/users/me/recovery-codes", console.regenerate_recovery_codes),
    path("ui/console/users/me/otp-sms", console.add_otp, {"channel": "sms"}),
    path("ui/console/users/me/otp-email", console.add_otp, {"channel": "email"}),
    path("ui/console/users/me/otp-sms/remove", console.remove_otp, {"channel": "sms"}),
    path("ui/console/users/me/otp-email/remove", console.remove_otp, {"channel": "email"}),
    path("ui/console/users/me/otp/verify", console.verify_otp),
    path("ui/console/users/", console_users.users),
    path("ui/console/users/deactivate", console_users.deactivate),
    path("ui/console/users/totp/remove", console_users.remove_totp),
    path("ui/console/users/grants/remove", console_users.remove_grant),
    path("v2/sessions/<str:session_id>", api.get_session),
    path("v2/users/<str:user_id>/authentication_methods", api.list_authentication_methods),
    path("zitadel.session.v2.SessionService/GetSession", api.connect_get_session),
    path(
        "zitadel.user.v2.UserService/ListAuthenticationMethodTypes",
        api.connect_list_authentication_method_types,
    ),
    *(path(route, view) for route, view in directory.paths()),
]
