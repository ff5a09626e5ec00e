"""``atelier serve``: run the HTTP service (the command behind ``make serve`` and the image)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cli.common import json_argument
from settings import Settings

if TYPE_CHECKING:
    from store.base import Store

DEMO_KEY_LABEL = "demo-serve"


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None, help="default: ATELIER_HOST")
    serve.add_argument("--port", type=int, default=None, help="default: ATELIER_PORT")
    serve.add_argument("--workers", type=int, default=None, help="default: ATELIER_WORKERS")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the demo tenant on first start and print its demo key (kept in the data "
        "folder, the same at every start)",
    )
    serve.add_argument(
        "--rotate-demo-key",
        action="store_true",
        help="with --demo: revoke the kept demo key and make a new one",
    )
    json_argument(serve)
    serve.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    """Start uvicorn with the app by name (``api.main:create_app``): each worker builds its own."""
    import uvicorn

    # Flags become environment variables so that every worker process reads the same settings.
    for flag, env in (
        ("host", "ATELIER_HOST"),
        ("port", "ATELIER_PORT"),
        ("workers", "ATELIER_WORKERS"),
    ):
        value = getattr(args, flag)
        if value is not None:
            os.environ[env] = str(value)
    settings = Settings()
    check_port_free(settings.host, settings.port)  # before the demo work and the banner
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    demo = prepare_demo(settings, rotate=args.rotate_demo_key) if args.demo else None
    if settings.workers > 1:
        # Workers are separate processes: Prometheus samples are aggregated through files.
        prom = settings.data_dir / "prometheus"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    announce(settings, demo, as_json=args.json)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # Header and body read timeouts, the connection limit (api.slow_clients) and problem
        # documents for what the parser refuses (api.protocol_errors: a URL over 65,535 bytes...).
        http="api.protocol_errors:ServedHttpToolsProtocol",
        timeout_keep_alive=settings.keep_alive_timeout_s,
        access_log=False,  # the app's own access log (api.middleware) names route templates
        log_level="warning",
        log_config=None,  # uvicorn's records go to the handler of core.logs, as JSON or text
    )
    return 0


def check_port_free(host: str, port: int) -> None:
    """Fail before anything is printed or loaded when the address cannot be listened on (a
    port in use), with what to do instead of uvicorn's traceback after the banner."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ValueError(f"cannot listen on {host}:{port}: unknown host ({exc})") from None
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT after a restart is not "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server there? "
                "choose another --port or ATELIER_PORT)"
            ) from None


@dataclass(frozen=True)
class DemoReady:
    """What ``--demo`` did (``notes``) and the demo tenant's all-scopes key."""

    tenant: str
    notes: list[str]
    key: str


def announce(settings: Settings, demo: DemoReady | None, *, as_json: bool) -> None:
    """The banner (and the demo key): lines for people, or one JSON document with ``--json``."""
    url = f"http://{settings.host}:{settings.port}"
    if as_json:
        doc: dict[str, object] = {"url": url, "docs": f"{url}/docs", "store": settings.store}
        doc["workers"] = settings.workers
        if demo is not None:
            doc["demo"] = {
                "tenant": demo.tenant,
                "key": demo.key,
                "key_file": str(settings.data_dir / DEMO_KEY_FILE),
                "notes": demo.notes,
            }
        print(json.dumps(doc), flush=True)
        return
    if demo is not None:
        for note in demo.notes:
            print(note, flush=True)
        print(
            f"demo API key (tenant '{demo.tenant}', all scopes; kept in "
            f"{settings.data_dir / DEMO_KEY_FILE}, new with --rotate-demo-key):",
            flush=True,
        )
        print(f"  {demo.key}", flush=True)
        print(
            f"try: curl -H 'Authorization: Bearer {demo.key}' {url}/v1/customers/cust-00001",
            flush=True,
        )
    print(
        f"Atelier on {url}  (docs: {url}/docs, store: {settings.store}, "
        f"workers: {settings.workers})",
        flush=True,
    )


def prepare_demo(settings: Settings, *, rotate: bool = False) -> DemoReady:
    """Load the demo tenant if it is empty and give its all-scopes key: the one kept in
    ``$ATELIER_DATA_DIR/demo-key`` while the store still accepts it, else (or with ``rotate``)
    a new one, the old demo keys revoked."""
    from demo.load import demo_insights, demo_model, load_demo
    from store import open_configured_store

    store = open_configured_store(settings)
    notes = []
    try:
        tenant = settings.demo_tenant
        if load_demo(store, tenant, seed=settings.demo_seed, n_customers=settings.demo_customers):
            notes.append(f"loaded the demo tenant '{tenant}'")
        elif demo_insights(store, tenant):
            # A demo tenant loaded before insights existed: compute them once.
            notes.append(f"computed customer insights of the demo tenant '{tenant}'")
        version = demo_model(store, tenant, settings.models_dir)
        if version is not None:
            notes.append(f"trained and published the demo model {version}")
        secret = demo_key(store, settings, rotate=rotate)
    finally:
        store.close()
    return DemoReady(tenant, notes, secret)


DEMO_KEY_FILE = "demo-key"


def demo_key(store: Store, settings: Settings, *, rotate: bool = False) -> str:
    """The demo tenant's all-scopes key: the kept one if the store still accepts it for that
    tenant with every scope, else a new one (written to the data folder, readable by its owner
    only); other demo keys are revoked so at most one is live."""
    from access.keys import create_key, hash_key
    from core.records import SCOPES

    path = settings.data_dir / DEMO_KEY_FILE
    tenant = settings.demo_tenant
    kept = path.read_text().strip() if path.is_file() else ""
    if kept and not rotate:
        record = store.get_api_key(hash_key(kept))
        if (
            record is not None
            and not record.revoked
            and record.tenant == tenant
            and record.scopes == frozenset(SCOPES)
        ):
            return kept
    for old in store.list_api_keys(tenant):
        if old.label == DEMO_KEY_LABEL and not old.revoked:
            store.revoke_api_key(old.key_id)
    _, secret = create_key(store, tenant, frozenset(SCOPES), label=DEMO_KEY_LABEL)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret
