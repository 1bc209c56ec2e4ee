"""/api/: the API's endpoints, and JSON for what none of them takes, where Django would answer with an
HTML page: a method an endpoint does not have (405 naming those it has) and a path no endpoint has (404)."""

from django.urls import include, path, re_path

from orchestrator.api import answered_in_json, api, no_such_endpoint

_endpoints, _app_name, _namespace = api.urls
for _endpoint in _endpoints:
    # ninja's /api/ itself only raises Http404 (the site's HTML page); it keeps its name, which ninja
    # reverses to find the API's root for the schema.
    _endpoint.callback = no_such_endpoint if _endpoint.name == "api-root" else answered_in_json(_endpoint.callback)

urlpatterns = [path("", include(([*_endpoints, re_path(r"", no_such_endpoint)], _app_name), namespace=_namespace))]
