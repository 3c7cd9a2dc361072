"""Contacts a merge kept carry the number of the customer they came from in a field of their
own; it was written into the job title, in the language of whoever merged ("from C000458",
"来自 C000458"), and read so by everyone. Such titles are moved over."""

import re

from django.db import migrations, models

KEPT_TITLE = re.compile(r"^(?:from |来自 ?)(C\d+)$")


def move_titles(apps, schema_editor):
    Contact = apps.get_model("customers", "Contact")
    found = Contact.objects.filter(models.Q(title__startswith="from C") | models.Q(title__startswith="来自"))
    for contact in found.only("organization_id", "title"):  # a merge makes at most two: a few rows
        match = KEPT_TITLE.match(contact.title)
        if match:
            Contact.objects.filter(organization_id=contact.organization_id, pk=contact.pk).update(
                kept_from=match.group(1), title="")


def move_back(apps, schema_editor):
    """Before the field, the number was in the title (in English: who merged is not known)."""
    Contact = apps.get_model("customers", "Contact")
    for contact in Contact.objects.exclude(kept_from="").filter(title="").only("organization_id", "kept_from"):
        Contact.objects.filter(organization_id=contact.organization_id, pk=contact.pk).update(
            title=f"from {contact.kept_from}")


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0007_phones_with_full_width_digits"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="kept_from",
            field=models.CharField(blank=True, max_length=20, verbose_name="kept from customer"),
        ),
        migrations.RunPython(move_titles, move_back),
    ]
