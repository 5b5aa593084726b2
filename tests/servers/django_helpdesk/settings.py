"""Django settings for the test django-helpdesk server.

Everything variable comes from the environment the starter (tests/servers/django_helpdesk_server.py) sets:
DESKLINE_HD_DATA (a temporary folder for the SQLite database and the uploaded files) and
DESKLINE_HD_MAX_UPLOAD (the largest request body accepted, in bytes, as a reverse proxy's
client_max_body_size would be).
"""

import os
from pathlib import Path

DATA = Path(os.environ["DESKLINE_HD_DATA"])
MAX_UPLOAD = int(os.environ.get("DESKLINE_HD_MAX_UPLOAD", str(8 * 1024 * 1024)))

SECRET_KEY = "deskline-test-server-not-secret"  # a throwaway server on loopback
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.servers.django_helpdesk.urls"
WSGI_APPLICATION = "tests.servers.django_helpdesk.wsgi.application"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]

MIDDLEWARE = [
    "tests.servers.django_helpdesk.middleware.ServerTimingMiddleware",
    "tests.servers.django_helpdesk.middleware.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA / "helpdesk.sqlite3"),
        # WAL and a busy timeout: the server and the tests (which read it to count tickets) share it
        "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
    }
}

MEDIA_ROOT = str(DATA / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
# Uploads above this are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A fast hasher: the test user logs in by basic auth in some tests, once per request.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# django-helpdesk renders its notification mails; nothing sends or keeps them (locmem would hold every one)
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}

# django-helpdesk 2.6.1: teams mode (on by default) needs pinax-teams and breaks migrate without it.
HELPDESK_TEAMS_MODE_ENABLED = False
# (HELPDESK_KB_ENABLED = False breaks 2.6.1's urls.py: NameError on kb)
HELPDESK_API_ENABLED = True
# 2.6.1's defaults (.txt .asc .pdf .doc .docx .odt .jpg .png .eml) reject the report's .json, the
# bundle's .zip and log files; Deskline sends these.
HELPDESK_VALID_EXTENSIONS = [".json", ".zip", ".log", ".txt", ".png", ".jpg", ".html", ".md", ".pdf", ".eml"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
