"""twin_capture: captures a PyTorch model as a Twin `.graph` file (docs/graph-format.md).

Run it as `python3 -m twin_capture FILE.py:FACTORY -o OUT.graph [--dtype bf16|f32]
[--no-weights]`, or through `twin capture`. See docs/capture.md.
"""

import os

FORMAT = "twin-graph"
VERSION = 1


def source_location(path, line):
    """"FILE:LINE" as reports show a place in the user's code: FILE relative to the working
    directory when it lies inside it, else as given."""
    try:
        relative = os.path.relpath(path)
        if not relative.startswith(".."):
            path = relative
    except ValueError:  # another drive (Windows): keep it whole
        pass
    return f"{path}:{line}"


class CaptureError(Exception):
    """A problem the user can fix; reported as one line, exit status 2."""
