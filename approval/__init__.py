"""Change requests and sign-off on git branches (no FastAPI, no Whoosh here)."""
