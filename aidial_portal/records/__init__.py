"""Django's admin, read-only, for AiDial administrators: accounts, security events, support."""
