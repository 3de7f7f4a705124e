"""REST routers, one per noun; all mounted under /api/v1 behind the token."""
