from django.urls import path

from payouts import views

app_name = "payouts"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("propose/", views.propose, name="propose"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<str:action>/", views.act, name="act"),
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/execute/", views.batch_execute, name="batch_execute"),
    path("batches/<int:pk>/remove/<int:payout_pk>/", views.batch_remove, name="batch_remove"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/sepa/", views.batch_sepa, name="batch_sepa"),
]
