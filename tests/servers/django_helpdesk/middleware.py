"""A request body limit, as the reverse proxy in front of a real django-helpdesk sets one
(nginx's client_max_body_size): django-helpdesk itself has no limit on attachment size."""

from django.conf import settings
from django.http import JsonResponse


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD:
            return JsonResponse({"detail": f"Request body over {settings.MAX_UPLOAD} bytes"}, status=413)
        return self.get_response(request)


class ServerTimingMiddleware:
    """Adds ``Server-Timing: app;dur=<ms>``: the time Django spent on the request, for the bench to set
    the server's own time against the client's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import time

        start = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.3f}"
        return response
