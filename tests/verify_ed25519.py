"""Verifies Keywarden signatures with an implementation that is not the server's own
(the `cryptography` package, OpenSSL underneath).

Reads one JSON object from stdin:
  {"pem": "...", "message_b64": "...", "signature_b64": "..."}
Prints "ok" when the signature verifies, "bad" when it does not.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

req = json.load(sys.stdin)
key = load_pem_public_key(req["pem"].encode())
try:
    key.verify(base64.b64decode(req["signature_b64"]), base64.b64decode(req["message_b64"]))
    print("ok")
except InvalidSignature:
    print("bad")
