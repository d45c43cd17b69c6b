"""The portal: server-rendered pages (Jinja2 + htmx) over the same functions the API calls."""
