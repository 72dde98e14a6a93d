"""Framework-free pieces shared by the web integrations.

Django, Flask and Starlette each translate their own request/response idiom
into these functions, so route guards, 503 answers, stale pages, template
fragments, the status document, the dashboard and the commands behave the
same everywhere and are written once. Standard library only.

Layer: web. Imports the engine and breaker_core.ops, never the Redis driver.
"""
