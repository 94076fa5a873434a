"""Form helpers shared by the console and the operator pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: under its field if the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        target = field if field in form.fields else None
        label = "" if target or field == "__all__" else f"{field.replace('_', ' ')}: "
        for message in errors:
            form.add_error(target, f"{label}{message}")


def posted(request: HttpRequest) -> Any:
    """The POST data on a POST (even an empty one, so its errors show), else None: unbound."""
    return request.POST if request.method == "POST" else None
