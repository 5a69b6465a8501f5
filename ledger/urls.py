from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.accounts, name="accounts"),
    path("accounts/<int:pk>/", views.statement, name="statement"),
    path("entries/<int:pk>/", views.entry, name="entry"),
]
