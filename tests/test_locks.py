"""The dependency locks: hashed, split into runtime and development, in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from kbserver.settings import PROJECT_ROOT

LOCKS = PROJECT_ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")
VIA = re.compile(r"^    #\s+(?:via\s+)?(\S.*)$")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _requirement_name(spec: str) -> str:
    return _name(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0])


def _read(path: Path) -> dict[str, tuple[str, int, set[str]]]:
    """Each pinned package: (version, number of hashes, what it is required by, per pip-compile's notes)."""
    found: dict[str, tuple[str, int, set[str]]] = {}
    current = ""
    for line in path.read_text().splitlines():
        if pin := PIN.match(line):
            current = _name(pin[1])
            found[current] = (pin[2], 0, set())
        elif line.strip().startswith("--hash=sha256:"):
            version, hashes, via = found[current]
            found[current] = (version, hashes + 1, via)
        elif (note := VIA.match(line)) and current:
            text = note[1].strip()
            if text != "via":
                found[current][2].add(text if text.startswith(("kbserver", "-c")) else _name(text))
        elif line and not line.startswith(("#", " ")):
            raise AssertionError(f"{path.name}: a line that is not a pinned, hashed package: {line!r}")
    return found


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    return {
        "runtime": [_requirement_name(s) for s in project["project"]["dependencies"]],
        "dev": [_requirement_name(s) for s in project["project"]["optional-dependencies"]["dev"]],
        "build": [_requirement_name(s) for s in project["build-system"]["requires"]],
    }


def _orphans(lock: dict[str, tuple[str, int, set[str]]]) -> list[str]:
    """Packages that no direct dependency of the project needs, through any chain of requirements."""
    needed = {name for name, (_v, _h, via) in lock.items() if any(v.startswith("kbserver") for v in via)}
    grew = True
    while grew:
        more = {name for name, (_v, _h, via) in lock.items() if name not in needed and via & needed}
        needed |= more
        grew = bool(more)
    return sorted(set(lock) - needed)


def test_every_package_is_pinned_with_hashes() -> None:
    for name in ("runtime.txt", "dev.txt"):
        lock = _read(LOCKS / name)
        assert lock, name
        assert [p for p, (_v, hashes, _via) in lock.items() if hashes == 0] == [], name


def test_runtime_lock_holds_the_runtime_and_build_dependencies_only() -> None:
    runtime, direct = _read(LOCKS / "runtime.txt"), _project()
    assert [d for d in direct["runtime"] + direct["build"] if d not in runtime] == []
    # `make serve` installs this lock alone: no test runner, browser driver, linter or type checker.
    assert [d for d in direct["dev"] if d in runtime] == []
    assert _orphans(runtime) == []


def test_dev_lock_adds_the_tools_at_the_runtime_versions() -> None:
    runtime, dev, direct = _read(LOCKS / "runtime.txt"), _read(LOCKS / "dev.txt"), _project()
    assert [d for d in direct["dev"] if d not in dev] == []
    assert {p: v for p, (v, _h, _via) in runtime.items()} == {p: dev[p][0] for p in runtime if p in dev}, (
        "the dev lock must hold every runtime package at the runtime lock's version"
    )
    assert set(runtime) <= set(dev)
    assert _orphans(dev) == []


def test_a_hand_added_package_is_an_orphan() -> None:
    lock = _read(LOCKS / "runtime.txt") | {"six": ("1.17.0", 1, set())}
    assert _orphans(lock) == ["six"]
