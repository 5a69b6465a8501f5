from django.urls import path

from clients import import_views

app_name = "imports"
urlpatterns = [
    path("", import_views.upload, name="upload"),
    path("<int:pk>/", import_views.detail, name="detail"),
    path("<int:pk>/status/", import_views.status, name="status"),
    path("<int:pk>/confirm/", import_views.confirm, name="confirm"),
]
