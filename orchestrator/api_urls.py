from django.urls import path

from orchestrator.api import api

urlpatterns = [path("", api.urls)]
