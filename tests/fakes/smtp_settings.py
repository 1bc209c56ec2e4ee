"""Settings for child processes whose mail goes over SMTP to a server a test runs on 127.0.0.1.

config.settings reads only EMAIL_BACKEND from the environment (the SMTP backend's host is then
Django's default, a relay on localhost:25); a test points its worker or reconciler here with
DJANGO_SETTINGS_MODULE=tests.fakes.smtp_settings and GATEHOUSE_TEST_SMTP_PORT=<port>.
"""

import os

from config.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["GATEHOUSE_TEST_SMTP_PORT"])
