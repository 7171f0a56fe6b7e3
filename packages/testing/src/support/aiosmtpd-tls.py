"""An SMTP server for tests: Debian's aiosmtpd with STARTTLS required and
AUTH (PLAIN/LOGIN) accepting one user. Prints every mail like `python3 -m
aiosmtpd -n` (the Debugging handler) and one line per AUTH attempt.

  /usr/bin/python3 -u aiosmtpd-tls.py --listen 127.0.0.1:PORT --cert C --key K --user U
  (the password is read from the environment, SMTP_TEST_PASSWORD, never argv)
"""

import argparse
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Debugging
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    a = p.parse_args()
    password = os.environ["SMTP_TEST_PASSWORD"].encode()
    user = a.user.encode()
    host, port = a.listen.rsplit(":", 1)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        print(f"AUTH {mechanism} {'accepted' if ok else 'refused'}", flush=True)
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Debugging(sys.stdout),
        hostname=host,
        port=int(port),
        tls_context=ctx,
        require_starttls=True,
        auth_require_tls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    print(f"listening on {host}:{port} (STARTTLS required, AUTH required)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
