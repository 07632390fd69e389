"""Refresh the dashboard's vendored files from the npm registry (developers only; users need no Node).

    python scripts/vendor_assets.py            # re-fetch the pinned version, verify, copy
    python scripts/vendor_assets.py 1.6.33     # move to another version (then review and commit)

Needs `npm` (for `npm pack`, which only downloads the package tarball: nothing is built or run).
The tarball's SHA-256 is checked against src/okxbot/serve/static/vendor/MANIFEST.json for the pinned
version; for a new version it is recorded there, with the SHA-256 of every copied file, which
tests/serve/test_cli_and_assets.py checks on every test run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "okxbot" / "serve" / "static" / "vendor"
FILES = {"uPlot.esm.js": "package/dist/uPlot.esm.js", "uPlot.min.css": "package/dist/uPlot.min.css", "LICENSE": "package/LICENSE"}


def main(argv: list[str]) -> int:
    manifest_path = VENDOR / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text())
    pinned = manifest["uplot"]["version"]
    version = argv[0] if argv else pinned
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"uplot@{version}", "--silent"], cwd=tmp, check=True)  # noqa: S603, S607
        tarball = next(Path(tmp).glob("uplot-*.tgz"))
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if version == pinned and digest != manifest["uplot"]["tarball_sha256"]:
            print(f"uplot@{version}: tarball checksum {digest} differs from the pinned one: refusing", file=sys.stderr)
            return 1
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        target = VENDOR / f"uplot-{version}"
        if version != pinned:
            shutil.rmtree(VENDOR / f"uplot-{pinned}", ignore_errors=True)
        target.mkdir(exist_ok=True)
        files = {}
        for name, inside in FILES.items():
            shutil.copyfile(Path(tmp) / inside, target / name)
            files[f"uplot-{version}/{name}"] = hashlib.sha256((target / name).read_bytes()).hexdigest()
    manifest["uplot"].update(
        version=version,
        source=f"npm registry: uplot@{version} (npm pack uplot@{version})",
        tarball_sha256=digest,
        files=files,
        from_tarball={f"uplot-{version}/{n}": p for n, p in FILES.items()},
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    if version != pinned:
        print(f"now uplot {version}: update the import in static/chart.js and the <link> in static/index.html")
    print(f"uplot {version}: {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
