from django.urls import path

from aidial_portal.support import views

app_name = "support"

urlpatterns = [
    path("", views.support_page, name="support"),
    path("requests/", views.support_requests, name="requests"),
]
