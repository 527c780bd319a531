"""Static checks of every deploy file, with the tools their ecosystems use: hadolint for the
Containerfile, yamllint and `kubernetes-validate --strict` for the manifests, `docker-compose
config` for the compose file, shellcheck for every shell script; plus the rules the manifests
promise (native sidecar, securityContext on every container, probes and the scrape annotation on
the operations port, requests and limits, a Secret key mode tokenproxy accepts, configuration
from a ConfigMap that is not a subPath and that config.schema.json accepts)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO

DEPLOY = REPO / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
SCHEMA = json.loads((REPO / "config.schema.json").read_text())
OPERATIONS_PORT = 9464
TIMEOUT = 120


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")
    return path


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO)


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def pod_specs() -> list[tuple[str, dict]]:
    specs = []
    for path in MANIFESTS:
        for doc in documents(path):
            name = f"{path.name}:{doc['kind']}/{doc['metadata']['name']}"
            if doc["kind"] in ("Deployment", "DaemonSet", "StatefulSet"):
                specs.append((name, doc["spec"]["template"]["spec"], doc["spec"]["template"]["metadata"]))
            elif doc["kind"] == "Pod":
                specs.append((name, doc["spec"], doc["metadata"]))
    return specs


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec.get("containers", [])


def tokenproxy_containers(spec: dict) -> list[dict]:
    return [c for c in containers(spec) if c["name"] == "tokenproxy"]


def test_containerfile_passes_hadolint():
    result = run(tool("hadolint"), "deploy/Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_containerfile_runtime_stage():
    text = (DEPLOY / "Containerfile").read_text()
    runtime = text.split("\nFROM ${RUNTIME_IMAGE}", 1)[1]
    assert "USER 10001:10001" in runtime
    assert "ca-certificates" in runtime and "libssl3" in runtime and "libsystemd0" in runtime
    assert "COPY --from=build /out/tokenproxy" in runtime
    assert "install -d -o 10001 -g 10001" in runtime  # the socket volume starts owned by the user
    assert ":latest" not in text
    # Nothing but the binary comes into the runtime image: no key, no configuration baked in.
    copies = [line for line in runtime.splitlines() if line.startswith(("COPY", "ADD"))]
    assert copies == ["COPY --from=build /out/tokenproxy /usr/local/bin/tokenproxy"]


def test_manifests_pass_yamllint():
    result = run(tool("yamllint"), "-c", "deploy/.yamllint.yaml", "-s", "deploy/")
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifests_pass_kubernetes_validate_strict():
    result = run(tool("kubernetes-validate"), "--strict", *map(str, MANIFESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") >= 6, result.stdout


def test_compose_file_is_valid():
    if shutil.which("docker") and run("docker", "compose", "version").returncode == 0:
        result = run("docker", "compose", "-f", "deploy/compose.yaml", "config", "--quiet")
    else:
        result = run(tool("docker-compose"), "-f", "deploy/compose.yaml", "config", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["tokenproxy"]["command"][0] == "dev"
    assert compose["services"]["app"]["network_mode"] == "service:tokenproxy"


def test_every_shell_script_passes_shellcheck():
    scripts = [p for p in [*REPO.glob("scripts/*"), *REPO.glob("bench/*.sh"), REPO / ".ci" / "run",
                           REPO / "bench" / "run", *DEPLOY.glob("*.sh")]
               if p.is_file() and p.read_text().startswith("#!/usr/bin/env bash") or p.suffix == ".sh"]
    assert len(scripts) >= 10
    result = run(tool("shellcheck"), "-x", *map(str, scripts))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sidecar_is_native():
    [(_, spec, _)] = [s for s in pod_specs() if s[0].startswith("sidecar.yaml")]
    [sidecar] = [c for c in spec["initContainers"] if c["name"] == "tokenproxy"]
    assert sidecar["restartPolicy"] == "Always"
    app = spec["containers"][0]
    env = {e["name"]: e["value"] for e in app["env"]}
    assert env["http_proxy"] == "http://127.0.0.1:8787"
    assert env["TOKENPROXY_SOCKET"] == "/run/tokenproxy/tokenproxy.sock"


def test_every_container_is_locked_down():
    for name, spec, _ in pod_specs():
        pod = spec.get("securityContext", {})
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in containers(spec):
            where = f"{name} {container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            if context.get("runAsUser") == 0:
                # The one documented exception: chown of the DaemonSet's hostPath directory.
                assert context["capabilities"].get("add") == ["CHOWN"], where
                assert container["command"][0] == "/bin/chown", where
            else:
                assert context["runAsNonRoot"] is True, where
                assert context.get("capabilities", {}).get("add") is None, where
            assert container["resources"]["limits"]["memory"], where
            assert container["resources"]["requests"]["memory"], where
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), where


def test_tokenproxy_probes_and_metrics_use_the_operations_listener():
    for name, spec, metadata in pod_specs():
        for container in tokenproxy_containers(spec):
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["operations"] == OPERATIONS_PORT, name
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "operations"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "operations"}
            annotations = metadata["annotations"]
            assert annotations["prometheus.io/scrape"] == "true", name
            assert annotations["prometheus.io/port"] == str(OPERATIONS_PORT), name
            assert annotations["prometheus.io/path"] == "/metrics", name


def test_keys_and_config_mounts():
    """Keys from a Secret in a mode tokenproxy accepts with fsGroup (0440: owner root, group
    fsGroup); configuration from a ConfigMap mounted as a directory, never a subPath (a subPath
    mount never sees an update), watched so that an update reloads."""
    for name, spec, _ in pod_specs():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in tokenproxy_containers(spec):
            mounts = {m["name"]: m for m in container["volumeMounts"]}
            assert "subPath" not in mounts["config"], name
            assert "configMap" in volumes["config"], name
            assert volumes["keys"]["secret"]["defaultMode"] == 0o440, name
            assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"], name
            config_file = container["args"][container["args"].index("--config") + 1]
            assert config_file.startswith(mounts["config"]["mountPath"] + "/"), name
            assert "--watch-config" in container["args"], name  # the ConfigMap update reloads


def test_embedded_configurations_match_the_schema():
    """Every ConfigMap's config.json is valid for config.schema.json. `operations` (issue 11's
    listener) is checked only once the schema has it."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    found = 0
    for path in MANIFESTS:
        for doc in documents(path):
            if doc["kind"] != "ConfigMap":
                continue
            config = json.loads(doc["data"]["config.json"])
            assert config["operations"]["listen"] == f"0.0.0.0:{OPERATIONS_PORT}", path
            if "operations" not in SCHEMA["properties"]:
                config.pop("operations")
            errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(config)]
            assert errors == [], f"{path.name}: {errors}"
            found += 1
    assert found == 2


# What the runtime stage must provide: the Debian packages of every library the release binary
# still loads (ldd), and which of them debian:*-slim lacks.
RUNTIME_PACKAGES = {"libc6", "libssl3", "libsystemd0", "libcap2", "libgcrypt20", "libgpg-error0",
                    "liblz4-1", "liblzma5", "libzstd1", "libstdc++6", "libgcc-s1"}
NOT_IN_SLIM = {"libssl3"}


def debian_package(library: str) -> str:
    """The package that owns `library`, under any of the names usrmerge gives it."""
    resolved = str(Path(library).resolve())
    candidates = []
    for path in (library, resolved):
        candidates += [path, path.removeprefix("/usr") if path.startswith("/usr/") else "/usr" + path]
    for candidate in candidates:
        owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=TIMEOUT)
        if owner.returncode == 0:
            return owner.stdout.split(":")[0]
    raise AssertionError(f"no Debian package owns {library}")


def test_runtime_stage_provides_every_library_the_binary_loads(tokenproxy_bin):
    """The shipped build links the Swift runtime and Foundation statically
    (scripts/build-release); what it still loads must come from the packages the runtime stage
    has. Checked on the binary under test when it is that build."""
    ldd = subprocess.run([tool("ldd"), str(tokenproxy_bin)], capture_output=True, text=True, timeout=TIMEOUT)
    libraries = [line.split("=>")[1].split("(")[0].strip() for line in ldd.stdout.splitlines() if "=>" in line]
    if any("libswiftCore" in library for library in libraries):
        pytest.skip("not the static-stdlib release build (scripts/build-release)")
    packages = set()
    for library in libraries:
        packages.add(debian_package(library))
    assert packages <= RUNTIME_PACKAGES, packages - RUNTIME_PACKAGES
    runtime = (DEPLOY / "Containerfile").read_text().split("\nFROM ${RUNTIME_IMAGE}", 1)[1]
    for package in NOT_IN_SLIM | {"libsystemd0", "ca-certificates"}:
        assert f"{package}=" in runtime, package
