"""AiDial Portal: Zitadel sign-in with a role-based MFA policy."""
