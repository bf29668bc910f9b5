"""What every centre-admin form shares: URL-encoded bodies, conversion to the service's request struct with the
field named on error, short notices after a 303 redirect, and the page guard."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from shop.accounts.models import Role
from shop.auth import requires
from shop.errors import DomainError, InvalidInput
from shop.web.i18n import gettext as _
from shop.web.templating import render, set_language

T = TypeVar("T")
FormData = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

requires_admin_page = requires(Role.CENTRE_ADMIN)
requires_staff_page = requires(Role.CENTRE_ADMIN, Role.WORKSHOP_MANAGER)

_FIELD = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")


def text(data: dict[str, Any], name: str) -> str:
    """A form field as one stripped string (a repeated field keeps its first value)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


def convert(model: type[T], values: dict[str, Any]) -> T:
    """The service's request struct from form strings; a bad value raises InvalidInput naming its field."""
    try:
        return msgspec.convert(values, model, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _FIELD.search(message)
        field = found.group(1) if found else None
        if field is None and "missing required field" in message:
            missing = re.search(r"`(\w+)`", message)
            field = missing.group(1) if missing else None
        raise InvalidInput(_("填写的内容不对：%(why)s") % {"why": message}, field=field) from None


def errors_of(exc: DomainError, default_field: str = "form") -> dict[str, str]:
    return {exc.field or default_field: exc.detail}


def form_error_page(
    request: Request[Any, Any, Any], template: str, exc: DomainError, labels: dict[str, str], **context: Any
) -> Template:
    """Show the form again with the error next to its field (and in a summary naming the field's label)."""
    set_language(request)
    errors = errors_of(exc)
    status = exc.status_code if exc.status_code in (403, 404, 409, 422) else 400
    return render(request, template, status_code=status, errors=errors, labels=labels, **context)


def see_other(path: str, done: str | None = None) -> Redirect:
    sep = "&" if "?" in path else "?"
    return Redirect(f"{path}{sep}done={done}" if done else path, status_code=303)


def notice(request: Request[Any, Any, Any], messages: dict[str, str]) -> list[tuple[str, str]]:
    """The notice to show after a redirect (`?done=key`), as base.html's flash list."""
    key = request.query_params.get("done")
    return [("ok", messages[key])] if key in messages else []
