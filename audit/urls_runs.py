"""URLs of the runs pages: list, start a run, run timeline, checkpoints, forks, compare, regression replay."""

from __future__ import annotations

from django.urls import path

from audit.views import run_actions, run_start, runs

urlpatterns = [
    path("runs/", runs.runs, name="runs"),
    path("runs/new/", run_start.run_start_page, name="run_start"),  # before <thread_id>: "new" is no thread id
    path("runs/regression/", runs.regression, name="regression"),
    path("runs/regression/<slug:batch>/", runs.regression_batch, name="regression_batch"),
    path("runs/blobs/<slug:sha>/", runs.blob_download, name="blob"),
    path("runs/<str:thread_id>/", runs.run_detail, name="run"),
    path("runs/<str:thread_id>/status/", runs.run_status, name="run_status"),
    path("runs/<str:thread_id>/cancel/", run_actions.run_cancel_view, name="run_cancel"),
    path("runs/<str:thread_id>/retry/", run_actions.run_retry_view, name="run_retry"),
    path("runs/<str:thread_id>/timeline/", runs.run_timeline_page, name="run_timeline"),
    path("runs/<str:thread_id>/family/", runs.fork_tree, name="fork_family"),
    path("runs/<str:thread_id>/compare/", runs.compare, name="compare"),
    path("runs/<str:thread_id>/checkpoints/<int:step>/", runs.checkpoint_detail, name="checkpoint"),
    path("runs/<str:thread_id>/checkpoints/<int:step>/diff/", runs.checkpoint_diff_fragment, name="checkpoint_diff"),
    path("runs/<str:thread_id>/checkpoints/<int:step>/fork/", runs.fork_form, name="fork"),
]
