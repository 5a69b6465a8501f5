from django.urls import path

from ledger import adjustment_views, views

app_name = "ledger"
urlpatterns = [
    path("", views.accounts, name="accounts"),
    path("accounts/<int:pk>/", views.statement, name="statement"),
    path("entries/<int:pk>/", views.entry, name="entry"),
    path("adjustments/", adjustment_views.adjustment_list, name="adjustments"),
    path("adjustments/<int:pk>/decide/", adjustment_views.adjustment_decide, name="adjustment_decide"),
]
