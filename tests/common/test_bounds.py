"""The bounds the services put on amounts: a refusal names its field; what is no number at all
is left to the field's own check (never an arithmetic error, a 500)."""

import pytest
from django.core.exceptions import ValidationError

from patron.common.bounds import check_not_negative


@pytest.mark.parametrize("value", ["-0.01", -5, "-1e3"])
def test_a_negative_amount_is_refused_on_its_field(value):
    with pytest.raises(ValidationError) as refused:
        check_not_negative(value, field="amount", message="negative")
    assert refused.value.message_dict == {"amount": ["negative"]}


@pytest.mark.parametrize("value", [None, "", "0", 0, "12.5", "NaN", "nan", "sNaN", "five", "Infinity"])
def test_anything_else_passes_to_the_fields_own_check(value):
    check_not_negative(value, field="amount", message="negative")
