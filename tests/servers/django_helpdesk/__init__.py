"""A minimal Django project serving django-helpdesk (from PyPI) for the connector tests and the bench."""
