from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts.views import custody_callback

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include("apps.webapi.urls")),
    path("openapi/", include("apps.openapi.urls")),
    path("", include("apps.bgeapi.urls")),
    path("api/v2/oauth2/", include("apps.oauth.urls")),
    path("api/v2/org/", include("apps.orgapi.urls")),
    path("content/", include("apps.content.urls")),
    path("custody/callback", custody_callback, name="custody-callback"),
]
