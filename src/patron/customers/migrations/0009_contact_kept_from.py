"""Contacts a merge kept carry the number of the customer they came from in a field of their
own; it was written into the job title, in the language of whoever merged ("from C000458",
"来自 C000458"), and read so by everyone. Such titles are moved over."""

import re

from django.db import migrations, models

KEPT_TITLE = re.compile(r"^(?:from |来自 ?)(C\d+)$")


def move_titles(apps, schema_editor):
    Contact = apps.get_model("customers", "Contact")
    moved = []
    for contact in Contact.objects.filter(models.Q(title__startswith="from C") | models.Q(title__startswith="来自")):
        match = KEPT_TITLE.match(contact.title)
        if match:
            contact.kept_from, contact.title = match.group(1), ""
            moved.append(contact)
    Contact.objects.bulk_update(moved, ["kept_from", "title"], batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0008_phone_email_indexes_of_the_value"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="kept_from",
            field=models.CharField(blank=True, max_length=20, verbose_name="kept from customer"),
        ),
        migrations.RunPython(move_titles, migrations.RunPython.noop),
    ]
