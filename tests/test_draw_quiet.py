"""`diagrammer draw` keeps stderr to its own progress lines: the two library notices an adapter
load prints are filtered by their own logger / message, and nothing else is."""

import subprocess
import sys

SCRIPT = """
import logging, warnings
import engine.llm.load
notice = "Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please ..."
logging.getLogger("bitsandbytes.backends.cpu.ops").warning(notice, "No module named 'kernels'")
warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning)
logging.getLogger("bitsandbytes.backends.cpu.ops").warning("another bitsandbytes warning")
warnings.warn("another deprecation", FutureWarning)
"""


def test_only_the_two_known_notices_are_silenced():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "gemm_4bit_forward" not in done.stderr
    assert "is_gradient_checkpointing" not in done.stderr
    assert "another bitsandbytes warning" in done.stderr
    assert "another deprecation" in done.stderr
