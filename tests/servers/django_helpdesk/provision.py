"""Prepare the test server's database and print one JSON line with what the tests need.

Migrates, then makes: ``agent`` (staff, the account Deskline uses: API token and a password),
``tech`` (staff, an engineer answering tickets), ``plain`` (not staff: the API refuses it) and two
queues. Run by the starter as ``python -m tests.servers.django_helpdesk.provision`` with
DESKLINE_HD_DATA set; running it again on the same database changes nothing.
"""

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.servers.django_helpdesk.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from helpdesk.models import Queue
    from rest_framework.authtoken.models import Token

    call_command("migrate", interactive=False, verbosity=0)
    users = get_user_model()
    tokens = {}
    for name, staff in (("agent", True), ("tech", True), ("plain", False)):
        user, _ = users.objects.get_or_create(username=name, defaults={"email": f"{name}@example.org",
                                                                      "is_staff": staff})
        user.set_password(f"{name}-password")
        user.save()
        tokens[name] = Token.objects.get_or_create(user=user)[0].key
    queue, _ = Queue.objects.get_or_create(slug="desk", defaults={"title": "Desktop support"})
    other, _ = Queue.objects.get_or_create(slug="other", defaults={"title": "Other"})
    json.dump({"token": tokens["agent"], "tech_token": tokens["tech"], "plain_token": tokens["plain"],
               "username": "agent", "password": "agent-password", "queue": queue.id, "other_queue": other.id},
              sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
