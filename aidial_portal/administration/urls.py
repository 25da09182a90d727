from django.urls import path

from aidial_portal.administration import views

app_name = "administration"

urlpatterns = [
    path("compliance/", views.compliance_report, name="compliance"),
    path("compliance/export.csv", views.compliance_export, name="compliance-export"),
    path("events/", views.security_events, name="events"),
]
