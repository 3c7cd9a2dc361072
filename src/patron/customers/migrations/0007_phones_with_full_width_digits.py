"""Phones stored with a full-width digit ("+861390000333３"): the importer's fast path for
Chinese mobiles let them through as typed until it was fixed, and such a phone matches no
duplicate check or search. Folded to ASCII digits here (NFKC), with the search text that
holds the phone's digits. A scan of the phone columns for the ten full-width digits; the
rows found are few."""

import unicodedata
from functools import reduce
from operator import or_

from django.db import migrations
from django.db.models import Q

FULL_WIDTH_DIGITS = "０１２３４５６７８９"


def fold(apps, schema_editor):
    for label in ("customers.Customer", "customers.Contact", "sales.Lead"):
        model = apps.get_model(label)
        has_search_text = any(f.name == "search_text" for f in model._meta.get_fields())
        odd = reduce(or_, (Q(phone__contains=d) for d in FULL_WIDTH_DIGITS))
        for row in model.objects.filter(odd).only("pk", "phone", *(["search_text"] if has_search_text else [])):
            changes = {"phone": unicodedata.normalize("NFKC", row.phone)}
            if has_search_text:
                changes["search_text"] = unicodedata.normalize("NFKC", row.search_text)
            model.objects.filter(pk=row.pk).update(**changes)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_customer_title"),
        ("sales", "0002_lead_search_trigram"),
    ]

    operations = [migrations.RunPython(fold, migrations.RunPython.noop)]
