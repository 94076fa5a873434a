"""API keys and OAuth2 clients of an application. Secrets appear once, in the POST's response.

The secret is rendered straight into the response of the request that made it and is
never stored anywhere readable (not in the session, not in a message), so reloading
or going back cannot show it again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from apis.models import Application
from apis.services import keys, oauth_clients
from apis.web.access import own_application, own_key, own_oauth_client
from apis.web.forms import KeyForm, OAuthClientForm, RotateKeyForm, add_service_errors


@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest, app_id: int) -> HttpResponse:
    app = own_application(request, app_id)
    form = KeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, full_key = keys.create_api_key(app, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _show_once(
                request, app, "Your new API key", [("API key", full_key, "secret-key")], key.prefix
            )
    return render(request, "devportal/key_form.html", {"app": app, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
    """GET explains the rotation and asks for the grace period; POST rotates."""
    key = own_key(request, app_id, key_id)
    form = RotateKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new, full_key = keys.rotate_api_key(key, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            title = f"The replacement for key {key.prefix}…"
            return _show_once(
                request, key.application, title, [("API key", full_key, "secret-key")], new.prefix
            )
    return render(
        request, "devportal/key_rotate.html", {"app": key.application, "key": key, "form": form}
    )


@login_required
@require_POST
def key_revoke(request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
    key = own_key(request, app_id, key_id)
    keys.revoke_api_key(key, actor=request.user)
    messages.success(
        request, f"Key {key.prefix}… is revoked; the gateways refuse it within a second."
    )
    return redirect("devportal:app_detail", app_id)


@login_required
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest, app_id: int) -> HttpResponse:
    app = own_application(request, app_id)
    form = OAuthClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = oauth_clients.create_oauth_client(
                app, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            shown = [
                ("Client id", client.client.client_id, "client-id"),
                ("Client secret", secret, "client-secret"),
            ]
            return _show_once(request, app, "Your new OAuth2 client", shown, None)
    return render(request, "devportal/client_form.html", {"app": app, "form": form})


@login_required
@require_POST
def client_delete(request: HttpRequest, app_id: int, client_id: int) -> HttpResponse:
    client = own_oauth_client(request, app_id, client_id)
    oauth_clients.delete_oauth_client(client, actor=request.user)
    messages.success(request, "OAuth2 client deleted; its tokens no longer work.")
    return redirect("devportal:app_detail", app_id)


def _show_once(
    request: HttpRequest,
    app: Application,
    title: str,
    shown: list[tuple[str, str, str]],
    prefix: str | None,
) -> HttpResponse:
    context = {
        "app": app,
        "title": title,
        "shown": shown,
        "prefix": prefix,
        "back": reverse("devportal:app_detail", args=[app.pk]),
    }
    response = render(request, "devportal/secret.html", context)
    add_never_cache_headers(response)
    return response
