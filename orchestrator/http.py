"""The request type every Gatehouse view is annotated with (django-htmx adds `request.htmx`)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class Request(HttpRequest):
    user: AbstractBaseUser | AnonymousUser
    htmx: HtmxDetails
