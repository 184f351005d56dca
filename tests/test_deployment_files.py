"""The deployment files describe the cluster the hotline needs.

docker-compose.yml, deploy/kubernetes/ and the nginx configurations are not
run here (no Docker engine, no Kubernetes), so what matters about them is
checked by reading them: two app processes and two engines, probes on the
health endpoints, the migration as its own step, secrets referenced and
never written in, every setting production needs, the inbox on durable
storage per process, only the public paths published. nginx checks its own
configurations (`nginx -t`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"

# What production refuses to start without, or needs to find the others.
APP_SETTINGS = {
    "HOTLINE_ENVIRONMENT",
    "HOTLINE_DATABASE_URL",
    "HOTLINE_ENCRYPTION_KEYS",
    "HOTLINE_ENGINE_TOKEN",
    "RASA_URL",
    "HOTLINE_REDIS_URL",
    "HOTLINE_INBOX_DIR",
    "HOTLINE_ATTACHMENTS_DIR",
}
ENGINE_SETTINGS = {
    "HOTLINE_ENVIRONMENT",
    "HOTLINE_DATABASE_URL",
    "HOTLINE_ENCRYPTION_KEYS",
    "HOTLINE_ENGINE_TOKEN",
    "HOTLINE_APP_URL",
    "HOTLINE_REDIS_URL",
}
SECRETS = {
    "HOTLINE_DATABASE_URL",
    "HOTLINE_ENCRYPTION_KEYS",
    "HOTLINE_ENGINE_TOKEN",
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
}
# docs/operations.md, "The reverse proxy": what the public reaches.
PUBLIC_PATHS = {"/webhooks/", "/chat", "/webchat/", "/console", "/api/"}


# docker-compose.yml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _services(compose: dict[str, Any], dockerfile: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if isinstance(service.get("build"), dict) and service["build"]["dockerfile"] == dockerfile
    }


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(compose, "Dockerfile").items()
        if "command" not in service
    }


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_runs_two_app_processes_and_two_engines(compose: dict[str, Any]) -> None:
    assert len(_app_services(compose)) == 2
    engines = _services(compose, "Dockerfile.engine")
    replicas = sum(service.get("deploy", {}).get("replicas", 1) for service in engines.values())
    assert replicas == 2
    assert {"database", "redis", "migrate", "proxy"} <= set(compose["services"])


def test_compose_publishes_the_proxy_alone(compose: dict[str, Any]) -> None:
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"proxy"}


def test_compose_migrates_once_before_apps_and_engines(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _command(services["migrate"]) == "hotline db upgrade"
    waiting = {**_app_services(compose), **_services(compose, "Dockerfile.engine")}
    for name, service in waiting.items():
        condition = service["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name
    assert "upgrade" not in (ROOT / "Dockerfile").read_text().split("CMD", 1)[1]


def test_compose_checks_health(compose: dict[str, Any]) -> None:
    for name, service in _app_services(compose).items():
        assert "/healthz" in " ".join(service["healthcheck"]["test"]), name
    for name, service in _services(compose, "Dockerfile.engine").items():
        assert ":5005/" in " ".join(service["healthcheck"]["test"]), name


def test_compose_sets_what_production_needs_and_writes_no_secret(
    compose: dict[str, Any],
) -> None:
    for name, service in _app_services(compose).items():
        assert set(service["environment"]) >= APP_SETTINGS, name
    for name, service in _services(compose, "Dockerfile.engine").items():
        assert set(service["environment"]) >= ENGINE_SETTINGS, name
    for name, service in compose["services"].items():
        for setting, value in service.get("environment", {}).items():
            if setting in SECRETS - {"HOTLINE_DATABASE_URL"}:
                pattern = r"\$\{" + setting + r"[:?-].*\}"
                assert re.fullmatch(pattern, value), (name, setting)
            if setting == "HOTLINE_DATABASE_URL":
                assert "${POSTGRES_PASSWORD" in value, name


def test_compose_keeps_each_inbox_apart_and_attachments_shared(compose: dict[str, Any]) -> None:
    inboxes, attachments = set(), set()
    for service in _app_services(compose).values():
        mounts = dict(reversed(volume.split(":")[:2]) for volume in service["volumes"])
        inboxes.add(mounts[service["environment"]["HOTLINE_INBOX_DIR"]])
        attachments.add(mounts[service["environment"]["HOTLINE_ATTACHMENTS_DIR"]])
    assert len(inboxes) == 2
    assert len(attachments) == 1
    assert inboxes | attachments <= set(compose["volumes"])


def test_compose_proxy_balances_every_app_process(compose: dict[str, Any]) -> None:
    config = (DEPLOY / "nginx" / "compose.conf").read_text()
    app_upstream = re.search(r"upstream hotline_app \{(.*?)\}", config, re.S)
    assert app_upstream is not None
    servers = set(re.findall(r"server ([\w-]+):8000", app_upstream.group(1)))
    assert servers == set(_app_services(compose))
    for service in _app_services(compose).values():
        assert service["environment"]["RASA_URL"] == "http://proxy:5005"
    for service in _services(compose, "Dockerfile.engine").values():
        assert service["environment"]["HOTLINE_APP_URL"] == "http://proxy:8080"


# deploy/kubernetes/


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    # The Secret's example shows its shape and is never applied.
    assert present - listed == {"secret.example.yaml"}
    documents: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        documents += [
            document for document in yaml.safe_load_all((KUBERNETES / name).read_text()) if document
        ]
    return documents


def _one(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _environment(manifests: list[dict[str, Any]], container: dict[str, Any]) -> set[str]:
    names = {variable["name"] for variable in container.get("env", [])}
    for source in container.get("envFrom", []):
        config = _one(manifests, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config["data"])
    return names


def test_kubernetes_runs_two_app_processes_and_two_engines(
    manifests: list[dict[str, Any]],
) -> None:
    assert _one(manifests, "StatefulSet", "hotline-app")["spec"]["replicas"] == 2
    assert _one(manifests, "Deployment", "hotline-engine")["spec"]["replicas"] == 2
    assert _one(manifests, "Deployment", "hotline-redis")
    assert _one(manifests, "Namespace", "hotline")
    for name in ("hotline-app", "hotline-engine", "hotline-redis"):
        service = _one(manifests, "Service", name)
        workloads = [
            m
            for m in manifests
            if m["kind"] in ("Deployment", "StatefulSet")
            and service["spec"]["selector"].items()
            <= m["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(workloads) == 1, name


def test_kubernetes_probes_health(manifests: list[dict[str, Any]]) -> None:
    app = _container(_one(manifests, "StatefulSet", "hotline-app"))
    engine = _container(_one(manifests, "Deployment", "hotline-engine"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] == "/healthz", probe
        # Rasa answers GET / once its model is loaded.
        assert engine[probe]["httpGet"]["path"] == "/", probe


def test_kubernetes_migrates_in_a_job(manifests: list[dict[str, Any]]) -> None:
    job = _one(manifests, "Job", "hotline-migrate")
    assert _container(job)["command"] == ["hotline", "db", "upgrade"]
    assert _container(_one(manifests, "StatefulSet", "hotline-app"))["command"] == [
        "hotline",
        "serve",
    ]


def test_kubernetes_sets_what_production_needs(manifests: list[dict[str, Any]]) -> None:
    app = _container(_one(manifests, "StatefulSet", "hotline-app"))
    engine = _container(_one(manifests, "Deployment", "hotline-engine"))
    migrate = _container(_one(manifests, "Job", "hotline-migrate"))
    assert _environment(manifests, app) >= APP_SETTINGS
    assert _environment(manifests, engine) >= ENGINE_SETTINGS
    assert {"HOTLINE_DATABASE_URL", "HOTLINE_ENCRYPTION_KEYS"} <= _environment(manifests, migrate)
    config = _one(manifests, "ConfigMap", "hotline-config")["data"]
    assert config["HOTLINE_ENVIRONMENT"] == "production"


def test_kubernetes_references_secrets_and_writes_none(manifests: list[dict[str, Any]]) -> None:
    assert not [m for m in manifests if m["kind"] == "Secret"]
    config = _one(manifests, "ConfigMap", "hotline-config")["data"]
    assert not SECRETS & set(config)
    for workload in manifests:
        if workload["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for variable in _container(workload).get("env", []):
            if variable["name"] in SECRETS:
                assert "value" not in variable, variable["name"]
                reference = variable["valueFrom"]["secretKeyRef"]
                assert reference == {**reference, "name": "hotline-secrets"}
                assert reference["key"] == variable["name"]


def test_kubernetes_keeps_each_inbox_on_its_own_volume(manifests: list[dict[str, Any]]) -> None:
    app = _one(manifests, "StatefulSet", "hotline-app")
    config = _one(manifests, "ConfigMap", "hotline-config")["data"]
    mounts = {m["mountPath"]: m["name"] for m in _container(app)["volumeMounts"]}
    (claim,) = app["spec"]["volumeClaimTemplates"]
    assert mounts[config["HOTLINE_INBOX_DIR"]] == claim["metadata"]["name"]
    volumes = {v["name"]: v for v in app["spec"]["template"]["spec"]["volumes"]}
    shared = volumes[mounts[config["HOTLINE_ATTACHMENTS_DIR"]]]
    attachments = _one(
        manifests, "PersistentVolumeClaim", shared["persistentVolumeClaim"]["claimName"]
    )
    assert attachments["spec"]["accessModes"] == ["ReadWriteMany"]


def test_kubernetes_publishes_the_public_paths_alone(manifests: list[dict[str, Any]]) -> None:
    ingress = _one(manifests, "Ingress", "hotline")
    paths = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert set(paths) == PUBLIC_PATHS
    assert set(paths.values()) == {"hotline-app"}


# nginx


def test_nginx_forwards_the_public_paths_alone() -> None:
    config = (DEPLOY / "nginx" / "public.conf").read_text()
    forwarded = {
        path.rstrip("/")
        for path in re.findall(r"location (?:= )?(\S+) \{\s*proxy_pass http://hotline_app;", config)
    }
    assert forwarded == {path.rstrip("/") for path in PUBLIC_PATHS}
    assert re.search(r"location / \{\s*return 404;", config)


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        pytest.fail("nginx is missing: apt-get install nginx (.ci/run installs it)")
    return found


def _check(config: Path, prefix: Path) -> None:
    errors = prefix / "error.log"
    result = subprocess.run(
        [_nginx(), "-t", "-q", "-p", str(prefix), "-e", str(errors), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_compose_nginx_configuration_passes_nginx_t(tmp_path: Path) -> None:
    # The container's names (app-1, engine, ...) resolve only in Compose's
    # network; here they stand for this machine.
    config = (DEPLOY / "nginx" / "compose.conf").read_text()
    config = re.sub(r"server [\w-]+:(\d+)", r"server 127.0.0.1:\1", config)
    config = re.sub(r"listen (\d+);", r"listen 127.0.0.1:\1;", config)
    config = f"pid {tmp_path}/nginx.pid;\n" + config
    (tmp_path / "nginx.conf").write_text(config)
    shutil.copy(DEPLOY / "nginx" / "public.conf", tmp_path / "hotline-public.conf")
    _check(tmp_path / "nginx.conf", tmp_path)


def test_cluster_nginx_configuration_passes_nginx_t(tmp_path: Path) -> None:
    # As scripts/cluster fills it in.
    values = {
        "RUN": str(tmp_path),
        "LOGS": str(tmp_path),
        "DEPLOY": str(DEPLOY),
        "PUBLIC_PORT": "8100",
        "APP_PORT": "8109",
        "ENGINE_PORT": "5100",
        "APP_SERVERS": "        server 127.0.0.1:8101;\n        server 127.0.0.1:8102;",
        "ENGINE_SERVERS": "        server 127.0.0.1:5105;\n        server 127.0.0.1:5106;",
    }
    config = (DEPLOY / "nginx" / "cluster.conf.in").read_text()
    for name, value in values.items():
        config = config.replace(f"@{name}@", value)
    assert "@" not in re.sub(r"#.*", "", config)
    (tmp_path / "nginx.conf").write_text(config)
    _check(tmp_path / "nginx.conf", tmp_path)
