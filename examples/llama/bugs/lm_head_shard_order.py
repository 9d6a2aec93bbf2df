# bug in: lm_head
"""The port gathering lm_head's column-parallel shards in the wrong order (rank 1's vocabulary
slice first), as a wrong all-gather rank order does."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import reference  # noqa: E402


class ColumnParallelLinear(port.ColumnParallelLinear):
    def forward(self, x):
        return torch.cat([shard(x) for shard in reversed(self.shards)], dim=-1)  # BUG: reversed ranks


def model():
    m = port.port_model()
    m.lm_head.__class__ = ColumnParallelLinear
    return m, reference.example_inputs()
