"""URLs: django-helpdesk (and its REST API under /api/) at the root."""

from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
