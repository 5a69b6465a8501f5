from django.urls import path

from payouts import views

app_name = "payouts"
urlpatterns = [
    path("", views.index, name="queue"),
]
