"""How an OpenAPI document travels over HTTP: the upload's three shapes, and YAML out."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from apis.services.openapi import MAX_DOCUMENT_BYTES

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class RawDocument(bytes):
    """The request body untouched, so that error lines match what the client sent."""


class RawDocumentParser(BaseParser):
    media_type = "*/*"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> RawDocument:
        # One byte over the limit is enough for parse_openapi to refuse it.
        return RawDocument(stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b"")


class YamlRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        text = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
        return text.encode("utf-8")


def uploaded_source(request: Request) -> str | bytes:
    """The document from a multipart file/field, a {"document": ...} JSON body, or the raw body."""
    if request.content_type.startswith(_FORM_TYPES):
        return _form_document(request)
    body = request.data
    if not isinstance(body, RawDocument) or not body.strip():
        raise ValidationError(
            {"document": "send the document as the body, a 'document' file or field"}
        )
    return _unwrapped(body)


def _form_document(request: Request) -> str | bytes:
    upload = request.FILES.get("document")
    if upload is not None:
        return upload.read(MAX_DOCUMENT_BYTES + 1)
    text = request.data.get("document")
    if not text:
        raise ValidationError({"document": "this field is required (a file or the document text)"})
    return str(text)


def _unwrapped(body: bytes) -> str | bytes:
    if not body.lstrip().startswith(b"{"):
        return body
    try:
        parsed = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        return body  # parse_openapi reports where the JSON breaks
    if not (isinstance(parsed, dict) and set(parsed) == {"document"}):
        return body
    document = parsed["document"]
    if isinstance(document, str):
        return document
    # An inline object: lay it out on lines so that error lines point somewhere useful.
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)
