"""Running a service write for a bound form, shared by every page that posts one.

A page answers a refused write with the form again: a service's ValidationError goes on the
fields it names (the rest above the form) with a 400, a stale edit's ConflictError above the
form with a 409. The views only decide what success and failure look like.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.forms import Form

from patron.common.errors import ConflictError


def add_errors(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, on the field it names when the form has it."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def submit_returning[T](form: Form, write: Callable[[], T]) -> tuple[T | None, int | None]:
    """Run a service write for a bound form: (what it returned, None) when it succeeded, else
    (None, the status to answer with): 409 for a stale edit, 400 for an invalid form or a
    refused write, with the errors put on the form's fields."""
    if not form.is_valid():
        return None, 400
    try:
        result = write()
    except ConflictError as exc:
        form.add_error(None, str(exc))
        return None, 409
    except ValidationError as exc:
        add_errors(form, exc)
        return None, 400
    return result, None


def submit(form: Form, write: Callable[[], object]) -> int | None:
    """`submit_returning` for a write whose result the view does not need: None when it
    succeeded, else the status to answer with."""
    return submit_returning(form, write)[1]
