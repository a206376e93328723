"""The language of a request: an end user's saved preference, else ``Accept-Language``.

Django's ``LocaleMiddleware`` (earlier in ``MIDDLEWARE``) activates the language from the request
(``Accept-Language``, the language cookie); this one, after authentication, switches to the logged-in
end user's ``User.language``. Staff are left to their browser's language in the admin.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_staff:
            language = getattr(user, "language", "")
            if language in self.supported:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
