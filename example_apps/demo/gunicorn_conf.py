"""gunicorn settings of the demo and the scenario: ``-c python:example_apps.demo.gunicorn_conf``.

Settings an older gunicorn does not know are ignored by it, so this file works
with every version the ``demo`` extra allows.
"""

# gunicorn 24+ opens a control socket at one path per user by default: several
# servers (the demo's two shops, the scenario's runs) must not fight over it.
control_socket_disable = True

# SIGTERM waits this long for requests in flight (default 30 s); the demo and the
# scenario stop with SIGINT, which does not wait at all.
graceful_timeout = 5
