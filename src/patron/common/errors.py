from django.utils.translation import gettext_lazy as _


class ConflictError(Exception):
    """Somebody else changed the record since it was read: the edit is refused, not merged."""

    default_message = _(
        "This record was changed by someone else since you opened it. "
        "Reload it to see their changes, then apply yours again."
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(str(message or self.default_message))
