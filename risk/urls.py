from django.urls import path

from risk import views

app_name = "risk"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("reserves/", views.reserves, name="reserves"),
    path("reserves/release/", views.reserves_release, name="reserves_release"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/evaluate/", views.alerts_evaluate, name="alerts_evaluate"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("policy/", views.policy, name="policy"),
    path("limits/", views.limits, name="limits"),
    path("limits/<int:pk>/approve/", views.limit_approve, name="limit_approve"),
    path("limits/<int:pk>/reject/", views.limit_reject, name="limit_reject"),
    path("clients/<str:client_id>/limits/", views.client_limits, name="client_limits"),
    path("clients/<str:client_id>/block/", views.client_block, name="client_block"),
]
