"""OAuth2 for airisk: the authorization server (``airisk.oauth.server``) and its tables."""
