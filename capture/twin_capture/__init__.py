"""twin_capture: captures a PyTorch model as a Twin `.graph` file (docs/graph-format.md).

Run it as `python3 -m twin_capture FILE.py:FACTORY -o OUT.graph [--dtype bf16|f32]
[--no-weights]`, or through `twin capture`. See docs/capture.md.
"""

FORMAT = "twin-graph"
VERSION = 1


class CaptureError(Exception):
    """A problem the user can fix; reported as one line, exit status 2."""
