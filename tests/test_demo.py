from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_prints_a_digest_with_chinese_and_english_titles_and_links() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobs.main", "demo"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "─── message 1 to demo-reader ───" in out
    linked = re.findall(r"^• (.+) <(https?://[^>]+)>$", out, re.M)
    assert any(re.search(r"[\u4e00-\u9fff]", title) for title, _ in linked)
    assert any(title.isascii() for title, _ in linked)
    assert (
        "AI 芯片出货量 >100 万片：算力 & 能耗之争 <https://ai.example.cn/news/ai-chip-shipments.html>"
        in out
    )
    assert "Traceback" not in done.stderr
