"""deploy/: the systemd units pass systemd-analyze, the nginx example passes nginx -t, and a
request really goes through nginx (TLS, WebSocket upgrade, X-Forwarded-For) to the app.

A missing tool skips these locally; under CI=true (.ci/run installs the tools) it fails."""

import asyncio
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from httpx_ws import aconnect_ws

from gql_portal.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("gql-portal-api.service", "gql-portal-worker.service")
CLI = Path(sys.executable).parent / "gql-portal"
NGINX_HOST = "127.0.0.2"  # the app sees nginx's connections from 127.0.0.1 ...
CLIENT_HOST = "127.0.0.3"  # ... and this client as the address nginx forwards


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing in CI: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


def _default(name: str) -> object:
    return Settings.model_fields[name].default


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The units as installed, with /opt/gql-portal pointing at this checkout."""
    env_file = tmp_path / "gql-portal.env"
    env_file.write_text("GQL_PORTAL_ENVIRONMENT=production\n")
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace("/opt/gql-portal/.venv/bin/gql-portal", str(CLI))
        text = text.replace("/opt/gql-portal", str(ROOT))
        text = text.replace("/etc/gql-portal/gql-portal.env", str(env_file))
        (tmp_path / name).write_text(text)
    return tmp_path


def _unit_settings(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        key, mark, value = line.partition("=")
        if mark and not line.startswith("#"):
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_systemd_units_pass_systemd_analyze_verify(units: Path) -> None:
    analyze = _tool("systemd-analyze")
    result = subprocess.run(
        [analyze, "verify", *(str(units / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # An unknown or misspelt key is only a warning to systemd: fail on any output too.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_units_are_hardened(units: Path) -> None:
    analyze = _tool("systemd-analyze")
    for name in UNITS:
        settings = _unit_settings(name)
        for key, value in {
            "User": "gql-portal",
            "NoNewPrivileges": "yes",
            "ProtectSystem": "strict",
            "PrivateTmp": "yes",
            "Restart": "on-failure",
            "EnvironmentFile": "/etc/gql-portal/gql-portal.env",
            "Environment": "PROMETHEUS_MULTIPROC_DIR=/run/gql-portal",
        }.items():
            assert value in settings.get(key, []), f"{name}: {key}={value}"
        command = "serve" if "api" in name else "worker"
        assert settings["ExecStart"][0].split()[1] == command
        # systemd's exposure score, x10 here (0 best, 100 worst); 25 and up is "MEDIUM".
        result = subprocess.run(
            [analyze, "security", "--offline=yes", "--threshold=24", str(units / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout[-600:]


def _render_site(cert: Path, key: Path, https_port: int, http_port: int, app_port: int) -> str:
    text = (DEPLOY / "nginx.conf").read_text()
    for old, new in (
        ("/etc/ssl/gql-portal/fullchain.pem", str(cert)),
        ("/etc/ssl/gql-portal/privkey.pem", str(key)),
        ("listen 443 ssl http2;", f"listen {NGINX_HOST}:{https_port} ssl http2;"),
        ("listen 80;", f"listen {NGINX_HOST}:{http_port};"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen [::]:80;", ""),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx_conf(tmp_path: Path) -> tuple[Path, int, int, Path]:
    """A self-signed certificate made now, the example site and a minimal main file."""
    openssl = _tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", f"subjectAltName=IP:{NGINX_HOST}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    https_port, http_port, app_port = _free_port(), _free_port(), _free_port()
    (tmp_path / "site.conf").write_text(_render_site(cert, key, https_port, http_port, app_port))
    temp = tmp_path / "nginx-tmp"
    temp.mkdir()
    # As root, nginx's workers would run as nobody, who cannot enter pytest's 0700 folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"{user}pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{paths}    include {tmp_path / 'site.conf'};\n}}\n"
    )
    return main, https_port, app_port, cert


def _nginx_test(nginx: str, main: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nginx, "-t", "-q", "-c", str(main), "-p", str(main.parent), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nginx_example_passes_nginx_t(nginx_conf: tuple[Path, int, int, Path]) -> None:
    nginx = _tool("nginx")
    result = _nginx_test(nginx, nginx_conf[0])
    assert (result.returncode, result.stderr) == (0, "")


def test_nginx_t_catches_a_broken_example(nginx_conf: tuple[Path, int, int, Path]) -> None:
    nginx = _tool("nginx")
    site = nginx_conf[0].parent / "site.conf"
    site.write_text(site.read_text().replace("client_max_body_size 100k;", "client_max_body 1;"))
    assert _nginx_test(nginx, nginx_conf[0]).returncode != 0


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_nginx_limits_match_the_apps() -> None:
    text = (DEPLOY / "nginx.conf").read_text()

    def directive(name: str) -> list[str]:
        match = re.search(rf"^\s*{name}\s+([^;]+);", text, flags=re.MULTILINE)
        assert match is not None, name
        return match[1].split()

    body = _size(directive("client_max_body_size")[0])
    max_body = _default("max_body_bytes")
    assert isinstance(max_body, int)
    # At least the app's limit, so the app answers 413 in the contract's shape; not far above.
    assert max_body <= body < 2 * max_body
    assert _size(directive("large_client_header_buffers")[1]) == _default("max_header_bytes")
    assert directive("client_header_timeout") == [f"{_default('header_timeout_seconds'):g}s"]
    assert directive("client_body_timeout") == [f"{_default('body_timeout_seconds'):g}s"]
    assert directive("proxy_set_header X-Forwarded-For") == ["$remote_addr"]


async def _wait_for_port(port: int, process: subprocess.Popen[bytes], host: str) -> None:
    for _ in range(300):
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on {host}:{port}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def app_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        GQL_PORTAL_ENVIRONMENT="production",
        GQL_PORTAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GQL_PORTAL_SMTP_URL=f"smtp://127.0.0.1:{_free_port()}",  # nothing listens: mail waits
        GQL_PORTAL_DATA_DIR=str(tmp_path / "data"),
        GQL_PORTAL_TRUSTED_PROXIES="127.0.0.1",
        GQL_PORTAL_LOG_LEVEL="WARNING",
    )
    # `demo` refuses production (its accounts share a published password): the test seeds
    # the same database and keys as a development run, then serves it in production.
    for command, environment in ((["migrate"], "production"), (["demo"], "development")):
        subprocess.run(
            [str(CLI), *command],
            env={**env, "GQL_PORTAL_ENVIRONMENT": environment},
            check=True,
            capture_output=True,
            timeout=180,
        )
    yield env


@pytest.fixture
async def behind_nginx(
    nginx_conf: tuple[Path, int, int, Path], app_env: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    nginx = _tool("nginx")
    main, https_port, app_port, cert = nginx_conf
    app = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(app_port)],
        env=app_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = subprocess.Popen(
        [nginx, "-c", str(main), "-p", str(main.parent), "-e", "stderr", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _wait_for_port(app_port, app, "127.0.0.1")
        await _wait_for_port(https_port, proxy, NGINX_HOST)
        transport = httpx.AsyncHTTPTransport(
            verify=ssl.create_default_context(cafile=cert), local_address=CLIENT_HOST
        )
        base = f"https://{NGINX_HOST}:{https_port}"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=30) as http:
            yield http
    finally:
        _stop(proxy)
        _stop(app)


LOGIN = (
    'mutation { login(email: "secadmin@demo.example", password: "correct-horse-battery")'
    " { status token } }"
)
EVENTS = "{ auditEvents(first: 5, filter: {actions: [LOGIN_SUCCEEDED]}) { edges { node { ip } } } }"
DRY_RUN = "mutation { startBulkTwoFactorEnablement(filter: {roles: [USER]}, dryRun: true) { id } }"
WATCH = "subscription W($id: ID!) { bulkJob(id: $id) { id } }"


async def test_a_session_through_nginx(behind_nginx: httpx.AsyncClient) -> None:
    http = behind_nginx
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/metrics")).status_code == 404  # not on the public name

    # A client's own X-Forwarded-For is replaced by the address nginx saw.
    login = await http.post(
        "/graphql", json={"query": LOGIN}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert login.status_code == 200, login.text
    assert re.fullmatch(r"[0-9a-f]{32}", login.headers["x-request-id"])  # nginx's $request_id
    assert len(login.headers.get_list("strict-transport-security")) == 1  # the app's, once
    token = login.json()["data"]["login"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    events = await http.post("/graphql", json={"query": EVENTS}, headers=auth)
    assert [edge["node"]["ip"] for edge in events.json()["data"]["auditEvents"]["edges"]] == [
        CLIENT_HOST
    ]

    # Between the app's limit (100000) and nginx's (100k): the app answers, in JSON.
    near = await http.post("/graphql", content=b" " * 101_000, headers=auth | _JSON)
    assert (near.status_code, near.headers["content-type"].split(";")[0]) == (
        413,
        "application/json",
    )
    assert (await http.post("/graphql", content=b" " * 200_000, headers=_JSON)).status_code == 413

    job = await http.post("/graphql", json={"query": DRY_RUN}, headers=auth)
    job_id = job.json()["data"]["startBulkTwoFactorEnablement"]["id"]
    async with aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send_json({"type": "connection_init", "payload": auth})
        assert (await asyncio.wait_for(ws.receive_json(), 10))["type"] == "connection_ack"
        payload = {"query": WATCH, "variables": {"id": job_id}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        message = await asyncio.wait_for(ws.receive_json(), 10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["bulkJob"]["id"] == job_id


_JSON = {"content-type": "application/json"}


TEST_DATABASE_URL = os.environ.get("GQL_PORTAL_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("GQL_PORTAL_TEST_REDIS_URL")
SMALL_JOB = "mutation { startBulkTwoFactorEnablement(filter: {roles: [AUDITOR]}) { id total } }"
JOB_STATUS = "query J($id: ID!) { bulkJob(id: $id) { status changed } }"


async def _postgres_admin(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    parsed = httpx.URL(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username or "postgres"
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def production_env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """docs/operations.md's environment file: PostgreSQL (a database of this test's own),
    Redis, production, explicit keys, nginx trusted, one metrics directory for all."""
    if not (TEST_DATABASE_URL and TEST_REDIS_URL):
        pytest.skip("needs GQL_PORTAL_TEST_DATABASE_URL and GQL_PORTAL_TEST_REDIS_URL")
    name = "gql_portal_deploy_" + os.urandom(4).hex()
    url = TEST_DATABASE_URL.replace("{}", name.removeprefix("gql_portal_test_"))
    url = url.rsplit("/", 1)[0] + "/" + name
    await _postgres_admin(url, f'CREATE DATABASE "{name}"')
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.update(
        GQL_PORTAL_ENVIRONMENT="production",
        GQL_PORTAL_DATABASE_URL=url,
        GQL_PORTAL_REDIS_URL=TEST_REDIS_URL,
        GQL_PORTAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        GQL_PORTAL_SMTP_URL=f"smtp://127.0.0.1:{_free_port()}",  # nothing listens: mail waits
        GQL_PORTAL_TRUSTED_PROXIES="127.0.0.1",
        GQL_PORTAL_DATA_DIR=str(tmp_path / "data"),
        GQL_PORTAL_LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    try:
        for command, environment in ((["migrate"], "production"), (["demo"], "development")):
            subprocess.run(
                [str(CLI), *command],
                env={**env, "GQL_PORTAL_ENVIRONMENT": environment},
                check=True,
                capture_output=True,
                timeout=180,
            )
        yield env
    finally:
        await _postgres_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _logins_per_process(directory: Path) -> dict[int, float]:
    from prometheus_client.mmap_dict import MmapedDict

    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            if '"gql_portal_logins_total"' in key and value:
                pid = int(path.stem.split("_")[1])
                counts[pid] = counts.get(pid, 0) + value
    return counts


def _sample(text: str, series: str) -> float | None:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, flags=re.MULTILINE)
    return float(match[1]) if match else None


async def test_two_api_processes_and_a_worker_behind_nginx(
    nginx_conf: tuple[Path, int, int, Path], production_env: dict[str, str]
) -> None:
    nginx = _tool("nginx")
    main, https_port, app_port, cert = nginx_conf
    metrics_dir = Path(production_env["PROMETHEUS_MULTIPROC_DIR"])
    logs = main.parent
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *command: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(command, env=production_env, stdout=out, stderr=out)
        started.append(process)
        return process

    worker = start("worker", str(CLI), "worker")
    app = start("api", str(CLI), "serve", "--port", str(app_port), "--workers", "2")
    proxy = start("nginx", nginx, "-c", str(main), "-p", str(logs), "-g", "daemon off;")
    try:
        await _wait_for_port(app_port, app, "127.0.0.1")
        await _wait_for_port(https_port, proxy, NGINX_HOST)
        transport = httpx.AsyncHTTPTransport(
            verify=ssl.create_default_context(cafile=cert), local_address=CLIENT_HOST
        )
        base = f"https://{NGINX_HOST}:{https_port}"
        async with (
            httpx.AsyncClient(transport=transport, base_url=base, timeout=60) as http,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{app_port}", timeout=30) as local,
        ):
            for _ in range(300):  # the worker's heartbeat is in Redis
                if (await local.get("/readyz")).json()["checks"].get("workers") == 1:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError((logs / "worker.log").read_text()[-2000:])

            # Logins through nginx; nginx keeps its upstream connections open (keepalive),
            # so one server process may get them all: then logins on new connections
            # straight to the app's port, until both processes have counted some.
            names = ("alice", "bob", "carol", "dave", "auditor", "sysadmin")
            statuses: Counter[str] = Counter()

            async def log_in(client: httpx.AsyncClient, name: str) -> None:
                query = {"query": LOGIN.replace("secadmin", name)}
                answer = await client.post("/graphql", json=query, headers={"Connection": "close"})
                statuses[answer.json()["data"]["login"]["status"]] += 1

            for name in names:
                await log_in(http, name)
            for attempt in range(60):
                if len(_logins_per_process(metrics_dir)) == 2:
                    break
                await log_in(local, names[attempt % len(names)])
            assert len(_logins_per_process(metrics_dir)) == 2  # the worker logs no one in

            login = await http.post("/graphql", json={"query": LOGIN})
            auth = {"Authorization": f"Bearer {login.json()['data']['login']['token']}"}
            statuses["AUTHENTICATED"] += 1
            job = await http.post("/graphql", json={"query": SMALL_JOB}, headers=auth)
            job_id = job.json()["data"]["startBulkTwoFactorEnablement"]["id"]
            for _ in range(300):
                status = await http.post(
                    "/graphql",
                    json={"query": JOB_STATUS, "variables": {"id": job_id}},
                    headers=auth,
                )
                if status.json()["data"]["bulkJob"]["status"] == "SUCCEEDED":
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError(status.text)
            assert status.json()["data"]["bulkJob"]["changed"] == 1

            assert (await http.get("/metrics")).status_code == 404
            assert set(statuses) == {"AUTHENTICATED", "TOTP_REQUIRED", "ENROLLMENT_REQUIRED"}

            def logins_counted(text: str) -> dict[str, float | None]:
                return {
                    status: _sample(text, f'gql_portal_logins_total{{outcome="{status}"}}')
                    for status in statuses
                }

            text = ""
            for _ in range(50):  # a counter's increment follows its answer by a moment
                text = (await local.get("/metrics")).text
                if logins_counted(text) == statuses:
                    break
                await asyncio.sleep(0.1)
            # Everything counted in any of the three processes, exactly once.
            assert logins_counted(text) == statuses
            assert _sample(text, 'gql_portal_bulk_job_users_total{result="changed"}') == 1
            assert _sample(text, "gql_portal_workers_alive") == 1
    finally:
        for process in reversed(started):
            _stop(process)
    assert worker.returncode == 0 and app.returncode == 0
