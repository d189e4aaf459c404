from django.urls import path

from . import views

urlpatterns = [
    path("", views.page),
    path("ask", views.ask),
    path("ask/shared", views.ask_shared),
    path("token", views.token),
    path("webhook", views.webhook),
]
