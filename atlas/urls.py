from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from atlas import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("clients/", include("clients.urls")),
    path("ledger/", include("ledger.urls")),
    path("payouts/", include("payouts.urls")),
    path("risk/", include("risk.urls")),
    path("portfolio/", include("portfolio.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("import/", include("clients.import_urls")),
    path("admin/", admin.site.urls),
]
