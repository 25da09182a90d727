"""SESSION_ENGINE modules (Django imports `SessionStore` from the engine's module)."""
