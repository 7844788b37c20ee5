"""The alpaca-py suite's fixtures: one TradeCraft server on port 0 (embedded default, a
fresh data dir) for the whole run, and a new trader with an API key pair per test."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest
from alpaca.trading.client import TradingClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("TRADECRAFT_BIN", os.path.join(ROOT, "target", "debug", "tradecraft"))
ADMIN_KEY = "alpaca-suite-admin-key-0123456789abcdef"


def call(base, method, path, body=None, headers=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


@pytest.fixture(scope="session")
def server():
    data = tempfile.mkdtemp(prefix="tradecraft-alpaca-")
    log = open(os.path.join(data, "server.log"), "w")
    process = subprocess.Popen([BINARY, "serve", "--data-dir", os.path.join(data, "data"), "--address", "127.0.0.1:0",
                                "--rate-limit-per-user", "0", "--rate-limit-per-ip", "0", "--web-dir", "none",
                                "--admin-key", ADMIN_KEY],
                               stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        address = json.loads(process.stdout.readline())["address"]
        base = f"http://{address}"
        for _ in range(200):
            try:
                call(base, "GET", "/health/ready")
                break
            except Exception:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


class Trader:
    def __init__(self, base):
        self.email = f"bot-{uuid.uuid4().hex}@example.com"
        tokens = call(base, "POST", "/v1/auth/register", {"email": self.email, "password": "correct horse"})
        self.user_id = tokens["userId"]
        key = call(base, "POST", "/v1/api-keys", {"name": "alpaca-py", "scopes": ["read", "trade"]},
                   {"authorization": f"Bearer {tokens['accessToken']}"})
        self.key_id = key["keyId"]
        self.secret = key["apiKey"]
        # Exactly what a bot changes to move from Alpaca's paper API to TradeCraft.
        self.trading = TradingClient(self.key_id, self.secret, paper=True, url_override=base)


@pytest.fixture
def trader(server):
    return Trader(server)
