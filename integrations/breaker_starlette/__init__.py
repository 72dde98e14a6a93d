"""breakerbox for Starlette and FastAPI: pure ASGI middleware.

Not built yet: this package is reserved so the distribution layout is fixed.
See docs/roadmap.md for what it will hold and which issue delivers it.
"""
