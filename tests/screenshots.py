"""Remake the README's pictures of the page from the browser test of a whole lesson: it screenshots each step at
1280 × 720 as it checks it; this keeps them small (800 px wide, 128 colours) in assets/screenshots/.

    .venv/bin/python tests/screenshots.py
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "screenshots"
WIDTH, COLOURS = 800, 128
TEST = "tests/test_browser.py::test_a_lesson_at_1280_by_720_from_the_data_to_a_comparison_and_its_offline_hand_out"


def main() -> int:
    with tempfile.TemporaryDirectory() as shots:
        env = {**os.environ, "SCREENSHOT_DIR": shots, "GRADIO_ANALYTICS_ENABLED": "False"}
        if subprocess.run([sys.executable, "-m", "pytest", "-q", TEST], cwd=ROOT, env=env).returncode:
            return 1
        OUT.mkdir(parents=True, exist_ok=True)
        for shot in sorted(Path(shots).glob("*.png")):
            image = Image.open(shot).convert("RGB")
            small = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
            small.quantize(COLOURS).save(OUT / shot.name, optimize=True)
            print(f"{OUT / shot.name}: {(OUT / shot.name).stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
