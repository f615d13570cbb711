"""Loading a module that `memplan export pytorch` generated, and running a model with its plan around the forward
(what a training loop writes by hand); shared by plancheck.py and distributed.py."""
import importlib.util

import torch.nn as nn


class Planned(nn.Module):
    """The user's model with the generated plan's step() around its forward."""

    def __init__(self, model, handle):
        super().__init__()
        self.m, self.handle = model, handle

    def forward(self, x):
        with self.handle.step():
            return self.m(x)


def load_module(path):
    spec = importlib.util.spec_from_file_location("memplan_plan_%d" % abs(hash(path)), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
