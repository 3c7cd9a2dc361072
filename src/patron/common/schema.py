"""Schema steps that Django's migration operations do not take the cheap way.

Dropping a foreign key's own index: on SQLite `AlterField(db_index=False)` copies the whole
table into a new one (three times over for three keys), which at a million customers takes
minutes and the space of a second copy. Dropping the index alone is all the change needs.
"""

from typing import Any

from django.db import migrations
from django.db.models import Index


def drop_key_indexes(model_name: str, *fields: str) -> migrations.RunPython:
    """The migration step that drops the single-column indexes of `fields` (foreign keys) of
    `model_name` ("app_label.Model"), and makes them again when reversed. Pair it with the
    `AlterField(db_index=False)` state operations in a `SeparateDatabaseAndState`."""

    def columns(apps: Any) -> tuple[Any, list[Any]]:
        model = apps.get_model(model_name)
        return model, [model._meta.get_field(name) for name in fields]

    def own_indexes(schema_editor: Any, model: Any, field: Any) -> list[str]:
        # Found by what they index rather than by Django's name for them, as Django's own
        # AlterField finds them: plain, not unique, of the one column, and not declared in the
        # model's Meta. (A partial index of the column would match too: none exists.)
        declared = {index.name for index in model._meta.indexes}
        return schema_editor._constraint_names(model, [field.column], index=True, unique=False,
                                               type_=Index.suffix, exclude=declared)

    def forwards(apps: Any, schema_editor: Any) -> None:
        model, keys = columns(apps)
        for field in keys:
            for name in own_indexes(schema_editor, model, field):
                schema_editor.execute(schema_editor._delete_index_sql(model, name))

    def backwards(apps: Any, schema_editor: Any) -> None:
        model, keys = columns(apps)
        for field in keys:
            if not own_indexes(schema_editor, model, field):  # not there already (a faked step)
                schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))

    return migrations.RunPython(forwards, backwards)
