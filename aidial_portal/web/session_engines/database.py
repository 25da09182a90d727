from aidial_portal.web.sessions import DatabaseSessionStore as SessionStore

__all__ = ["SessionStore"]
