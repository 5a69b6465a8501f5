from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("loans/<str:loan_id>/", views.loan_detail, name="loan"),
]
