"""The WSGI application waitress serves."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.servers.django_helpdesk.settings")
application = get_wsgi_application()
