"""Several Empathy Engine instances behind nginx on loopback, sharing one database.

    python deploy/local_cluster.py --database-url postgresql://postgres@127.0.0.1/empathy \
        [--instances 2] [--port 8080]

starts `gunicorn -c gunicorn.conf.py server:app` on free loopback ports and nginx (Debian's
package, as a child process, not the system service) in front of them with
deploy/nginx/empathy-locations.conf, then waits for Ctrl-C. The multi-instance test
(tests/deploy/) uses the same code. The database must already be initialised
(`flask --app server init-db`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCATIONS = REPO / "deploy" / "nginx" / "empathy-locations.conf"
ENV_FILE = REPO / "deploy" / "empathy-engine.env"
UPSTREAM_HEADER = "X-Empathy-Upstream"  # which instance served a request (test topology only)

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {folder}/access.log upstream;
    upstream empathy_engine {{
        least_conn;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        add_header {header} $upstream_addr always;
        include {locations};
    }}
}}
"""


def find_nginx() -> str | None:
    # /usr/sbin is not on every user's PATH.
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    database_url: str
    port: int  # nginx
    instance_ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def instance_ws_url(self, index: int) -> str:
        return f"ws://127.0.0.1:{self.instance_ports[index]}/ws"

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_cluster(
    database_url: str,
    folder: Path,
    instances: int = 2,
    port: int | None = None,
    gunicorn_config: str = "gunicorn.conf.py",
    gunicorn_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Cluster:
    """Start the instances, then nginx; returns once every instance answers through nginx."""
    nginx = find_nginx()
    if nginx is None:
        raise RuntimeError("nginx not found (Debian: apt-get install nginx)")
    cluster = Cluster(folder, database_url, port or free_port())
    try:
        for _ in range(instances):
            instance_port = free_port()
            cluster.instance_ports.append(instance_port)
            cluster.processes.append(
                _start_gunicorn(
                    database_url, instance_port, folder, gunicorn_config, gunicorn_args, env
                )
            )
        for instance_port, process in zip(cluster.instance_ports, cluster.processes, strict=True):
            _wait_for_http(f"http://127.0.0.1:{instance_port}/healthz", process, folder)
        conf = folder / "nginx.conf"
        conf.write_text(render_nginx_conf(folder, cluster.port, cluster.instance_ports))
        stderr = (folder / "nginx.stderr").open("w")
        cluster.processes.append(
            subprocess.Popen(
                [nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        )
        _wait_for_http(cluster.url + "healthz", cluster.processes[-1], folder)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def render_nginx_conf(folder: Path, port: int, instance_ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in instance_ports)
    return NGINX_CONF.format(
        folder=folder, port=port, servers=servers, header=UPSTREAM_HEADER, locations=LOCATIONS
    )


def _start_gunicorn(
    database_url: str,
    port: int,
    folder: Path,
    config: str,
    extra_args: tuple[str, ...],
    env: dict[str, str] | None,
) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "-c", config, "server:app",
        "--bind", f"127.0.0.1:{port}", *extra_args,
    ]  # fmt: skip
    environment = {
        **os.environ,
        **production_settings(),
        "DATABASE_URL": database_url,
        **(env or {}),
    }
    log = (folder / f"gunicorn-{port}.log").open("w")
    return subprocess.Popen(
        command, cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=log
    )


def production_settings() -> dict[str, str]:
    """deploy/empathy-engine.env without DATABASE_URL (and without empty values)."""
    settings = {}
    for line in ENV_FILE.read_text().splitlines():
        name, _, value = line.partition("=")
        if line.strip() and not line.startswith("#") and value and name != "DATABASE_URL":
            settings[name.strip()] = value.strip()
    return settings


def _wait_for_http(url: str, process: subprocess.Popen, folder: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited while starting; logs in {folder}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s; logs in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("give --database-url (or set DATABASE_URL): instances must share one database")
    with tempfile.TemporaryDirectory(prefix="empathy-cluster-") as folder:
        cluster = start_cluster(args.database_url, Path(folder), args.instances, args.port)
        ports = ", ".join(map(str, cluster.instance_ports))
        print(f"nginx on {cluster.url} -> instances on {ports}; logs in {folder}. Ctrl-C stops.")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
