"""`SESSION_ENGINE = "aidial_portal.sessions.backends.db"`: sessions in the database (Django's
table, keyed by `stored_key`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.sessions.backends import db
from django.db import transaction
from django.utils import timezone

from aidial_portal.sessions.backends.base import HashedKeyStore, stored_key


class SessionStore(HashedKeyStore, db.SessionStore):
    @property
    def key_salt(self) -> str:
        # Django signs the stored data with a salt named after the store's class. Sessions
        # stored before the store moved here were signed as `DatabaseSessionStore`
        # (web/sessions.py): keeping that salt keeps them readable after a deploy.
        return "django.contrib.sessions.DatabaseSessionStore"

    def _get_session_from_db(self) -> Any:
        try:
            return self.model.objects.get(
                session_key=stored_key(self.session_key or ""), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, ValueError):
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=stored_key(session_key)).exists()

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance = super().create_model_instance(data)
        instance.session_key = stored_key(instance.session_key)
        return instance

    def delete_stored(self, stored: str) -> bool:
        deleted, _ = self.model.objects.filter(session_key=stored).delete()
        return deleted > 0

    def exists_stored(self, stored: str) -> bool:
        return self.model.objects.filter(
            session_key=stored, expire_date__gt=timezone.now()
        ).exists()

    def rewrite_stored(
        self, stored: str, change: Callable[[dict[str, Any]], bool], *, timeout: int
    ) -> bool:
        """The row is locked while `change` runs, so two writers cannot interleave."""
        with transaction.atomic():
            row = (
                self.model.objects.select_for_update()
                .filter(session_key=stored, expire_date__gt=timezone.now())
                .first()
            )
            if row is None:
                return False
            data = self.decode(row.session_data)
            if not change(data):
                return False
            row.session_data = self.encode(data)
            row.save(update_fields=["session_data"])
        return True
