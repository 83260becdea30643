"""The OIDC side of the local Cloud Tasks: a local signing key, Google-shaped ID tokens, and the public certs.

Cloud Tasks puts an ID token of the task's `oidc_token.service_account_email` in `Authorization: Bearer …` of each
dispatch; Google signs it with RS256 and publishes the keys at https://www.googleapis.com/oauth2/v1/certs as
`{kid: PEM x509 certificate}`. Locally the emulator signs with a key of its own (made at each start, private key
file 0600 in the stack's runtime directory) and serves the same document on loopback (`certs_url`), so the
functions run the very same check with only the certs URL changed. Standard library + `cryptography` only: both
the emulator's virtualenv and the tests (`tests/standins/tasks.py`) use it; it never imports `mam`.
"""
from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

ISSUER = "https://accounts.google.com"  # what Google puts in `iss` of the ID tokens Cloud Tasks sends
LIFETIME = 3600  # Google ID tokens live one hour
CERTS_PATH = "/oauth2/v1/certs"
CERTS_MAX_AGE = 300  # Cache-Control max-age of the local certs (Google's is hours; short here so restarts show)
KEY_FILE = "oidc-key.pem"


def certs_port(tasks_port: int) -> int:
    """The loopback port of the certs next to the emulator's gRPC port (as the Firestore wrapper's /healthz)."""
    return tasks_port + 1


def certs_url(tasks_port: int) -> str:
    """Where the local Cloud Tasks on `tasks_port` publishes its public keys (Google's v1 certs format)."""
    return f"http://127.0.0.1:{certs_port(tasks_port)}{CERTS_PATH}"


def key_path(state_dir: Path, tasks_port: int) -> Path:
    """The private key file of the local Cloud Tasks on `tasks_port` (in the stack's private runtime directory)."""
    return Path(state_dir) / "run" / f"tasks-{tasks_port}" / KEY_FILE


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class LocalKey:
    """An RSA key pair standing in for Google's token signing key; `kid` is derived from the public key."""

    def __init__(self, private_pem: bytes):
        from cryptography.hazmat.primitives import serialization

        self.private_pem = private_pem
        self._cert: str | None = None
        self._key = serialization.load_pem_private_key(private_pem, password=None)
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = hashlib.sha1(der).hexdigest()  # 40 hex digits, the shape of Google's key ids

    @classmethod
    def generate(cls) -> LocalKey:
        """A fresh 2048-bit key (what Google uses)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))

    @classmethod
    def load(cls, path: Path) -> LocalKey:
        """The key written by `save`."""
        return cls(Path(path).read_bytes())

    def save(self, path: Path) -> None:
        """Write the private key, readable by its owner only (directory 0700, file 0600), replacing any older one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.private_pem)
        os.replace(tmp, path)  # readers never see half a key

    def certificate_pem(self) -> str:
        """A self-signed x509 certificate of the public key (Google publishes certificates, not bare keys)."""
        if self._cert is None:
            self._cert = self._make_certificate()
        return self._cert

    def _make_certificate(self) -> str:
        import datetime as dt

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local-cloud-tasks-oidc")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self._key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
                .not_valid_after(now + dt.timedelta(days=30)).sign(self._key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def certs(self) -> dict[str, str]:
        """The certs document: {kid: PEM certificate}, Google's v1 format."""
        return {self.kid: self.certificate_pem()}

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        """An RS256 JWT of `claims` with this key (`header` overrides, e.g. another kid, for tests)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        head = {"alg": "RS256", "kid": self.kid, "typ": "JWT", **(header or {})}
        signing_input = (_b64(json.dumps(head, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64(signature)


def id_token_claims(email: str, audience: str, now: float | None = None) -> dict[str, Any]:
    """The claims of the ID token Cloud Tasks sends for a task's `oidc_token` (a service account's: verified email)."""
    iat = int(time.time() if now is None else now)
    sub = str(int(hashlib.sha256(email.encode()).hexdigest()[:20], 16))  # a stable numeric id, as Google's
    return {"aud": audience, "azp": sub, "email": email, "email_verified": True, "exp": iat + LIFETIME, "iat": iat,
            "iss": ISSUER, "sub": sub}


class CertsServer(http.server.ThreadingHTTPServer):
    """GET CERTS_PATH: the key's certs with Cache-Control max-age, as Google serves them; anything else 404.
    `max_age` may be changed while serving (tests of the functions' cache)."""

    daemon_threads = True

    def __init__(self, key: LocalKey, host: str, port: int):
        self.keys = [key]  # published keys (a test may add one, as Google publishes the next key before using it)
        self.hits = 0  # certs requests answered (tests check that functions cache them)
        self.max_age = CERTS_MAX_AGE
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                if h.path.split("?", 1)[0] != CERTS_PATH:
                    h.send_response(404)
                    h.send_header("Content-Length", "0")
                    h.end_headers()
                    return
                server.hits += 1
                body = json.dumps({k: v for key in list(server.keys) for k, v in key.certs().items()}).encode()
                h.send_response(200)
                h.send_header("Content-Type", "application/json; charset=UTF-8")
                h.send_header("Cache-Control", f"public, max-age={server.max_age}, must-revalidate, no-transform")
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

            def log_message(h, *args):
                pass

        super().__init__((host, port), Handler)

    def start(self) -> CertsServer:
        """Serve in a daemon thread."""
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True, name="oidc-certs").start()
        return self
