"""The tests' local AWS endpoint: moto's server, handling one request at a time.

Moto checks a DynamoDB condition and then writes, in two steps that concurrent requests
can interleave, so two conditional writes may both succeed where DynamoDB decides them
atomically. Serialising requests (each answered whole under one lock) gives the tests
DynamoDB's behaviour; connections are still accepted concurrently.

Usage: python3 scripts/moto_server.py <host> <port>
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    """The WSGI application `app`, answering one request at a time."""
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    return handle


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
