from django.urls import path

from reconciliation import views

app_name = "reconciliation"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("statements/<int:pk>/", views.statement_detail, name="statement"),
    path("statements/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("lines/<int:pk>/match/", views.manual_match, name="manual_match"),
    path("matches/<int:pk>/unmatch/", views.unmatch, name="unmatch"),
    path("requests/<int:pk>/decide/", views.decide, name="decide"),
]
