from aidial_portal.web.sessions import CacheSessionStore as SessionStore

__all__ = ["SessionStore"]
