"""Role gates for the HTML pages; object ownership is the queryset's job, as in the REST API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

if TYPE_CHECKING:
    from portal.models import User

View = Callable[..., HttpResponse]


def actor_of(request: HttpRequest) -> User:
    """The signed-in user behind a gated view: the actor the services record."""
    return cast("User", request.user)


def _gate(check: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                login = redirect_to_login(request.get_full_path())
                # A live panel's poll after the session ended: send the whole page to the
                # login form, not the login form into the panel.
                if getattr(request, "htmx", False):
                    return HttpResponseClientRedirect(login["Location"])
                return login
            if not check(request.user):
                raise PermissionDenied("your role may not open this page")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = _gate(lambda user: user.is_portal_admin)
operator_required = _gate(lambda user: user.is_operator)
