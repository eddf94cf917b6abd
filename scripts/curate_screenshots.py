"""Copy a curated set of the browser walkthrough's screenshots into docs/screenshots/ for the README.

    .venv/bin/pytest tests/browser/test_walkthrough.py      # writes var/screenshots/*.png
    .venv/bin/python scripts/curate_screenshots.py           # picks, crops, shrinks into docs/screenshots/

Each image keeps the 1366 px width of the test's window (sharp text), is cut at MAX_HEIGHT, reduced
to a 256-colour palette and, when `optipng` is installed, optimised losslessly; each stays < 200 KB.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "var" / "screenshots"
TARGET = ROOT / "docs" / "screenshots"
MAX_HEIGHT = 1300
LIMIT = 200_000

# docs name <- walkthrough screenshot
CURATED = {
    "dashboard.png": "billing-dashboard.png",
    "subscriptions.png": "billing-subscriptions.png",
    "subscription-change-preview.png": "billing-subscription-change-preview.png",
    "invoice-new.png": "billing-invoice-new-filled.png",
    "invoice.png": "billing-invoice-sent.png",
    "credit-note.png": "billing-credit-note-approved.png",
    "dunning-queue.png": "billing-dunning.png",
    "dunning-case.png": "billing-dunning-suspended.png",
    "analytics.png": "billing-analytics.png",
    "payment-config.png": "admin-payment-config-saved.png",
    "audit-log.png": "admin-audit-log.png",
}


def curate(name: str, source: Path) -> int:
    image = Image.open(source).convert("RGB")
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    target = TARGET / name
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", str(target)], check=True)
    return target.stat().st_size


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    missing = [source for source in CURATED.values() if not (SOURCE / source).exists()]
    if missing:
        print(f"missing in {SOURCE}: {', '.join(missing)} (run tests/browser/test_walkthrough.py first)", file=sys.stderr)
        return 1
    for name, source in CURATED.items():
        size = curate(name, SOURCE / source)
        print(f"{name:34} {size / 1000:6.0f} KB")
        if size > LIMIT:
            print(f"  {name} is over {LIMIT // 1000} KB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
