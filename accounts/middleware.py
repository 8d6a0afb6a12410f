"""Keep a signed-in session alive while it is used, without writing it on every request."""

import time

from django.conf import settings

REFRESHED_AT = "_refreshed_at"


class SessionRefreshMiddleware:
    """Save a signed-in user's session when SESSION_REFRESH_SECONDS have passed since its last save.

    Sessions end SESSION_COOKIE_AGE seconds after they were last saved. Saving
    on every request (SESSION_SAVE_EVERY_REQUEST) makes that an idle timeout,
    but costs an UPDATE and a commit per page. Saving at most every
    SESSION_REFRESH_SECONDS keeps the idle timeout, shortened by at most that
    interval. Sessions without a signed-in user are left alone, so no session
    is created for an anonymous visitor.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.session_key or "_auth_user_id" not in session:
            return response

        now = int(time.time())
        if now - session.get(REFRESHED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[REFRESHED_AT] = now  # marks the session modified, so SessionMiddleware saves it
        return response
