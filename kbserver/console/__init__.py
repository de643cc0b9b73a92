"""The console at /app: server-rendered pages, Spanish by default, English available."""
