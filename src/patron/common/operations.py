"""Migration operations of our own."""

from typing import Any

from django.db import migrations


class AddIndexOnline(migrations.AddIndex):
    """AddIndex that on PostgreSQL builds the index without blocking writes to its table
    (CREATE INDEX CONCURRENTLY), for tables that may hold millions of rows when it runs: a
    plain CREATE INDEX holds off every insert and update for the minutes it takes. Elsewhere
    (SQLite) the plain build. The migration holding it must say `atomic = False`."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if not self._concurrently(app_label, schema_editor, to_state, "add_index"):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if not self._concurrently(app_label, schema_editor, from_state, "remove_index"):
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def _concurrently(self, app_label: str, schema_editor: Any, state: Any, method: str) -> bool:
        """Add or remove the index without blocking writes, where the database can."""
        if schema_editor.connection.vendor != "postgresql":
            return False
        model = state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            getattr(schema_editor, method)(model, self.index, concurrently=True)
        return True
