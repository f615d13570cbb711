"""Checks distributed.py's per-rank method on the hand-count model of test_memmeasure.py, at world size 2.

Run: cd tools/pytorch && nice /usr/bin/python3 -m unittest test_distributed -v

DDP with Adam: every rank holds the parameters, Adam's two states, the data and DDP's buckets (a flat copy of all
gradients) at the start; ZeroRedundancyOptimizer gives W1 (131072 elements) to rank 0 and W2, b1, b2 to rank 1
(largest first to the emptiest rank), so rank 0 keeps Adam's state of W1 only.
"""
import unittest

import distributed

F = 4
B, I, H, O = 16, 256, 512, 128
W1, B1, W2, B2 = H * I * F, H * F, O * H * F, O * F
PARAMS = W1 + B1 + W2 + B2
DATA = B * I * F + B * 8
SCALARS = 1024   # Adam's step counters (a few bytes each), the loss, the profiler's own records


class HandCountTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddp = distributed.run_case("hand-mlp", B, 2, "ddp")["ranks"]
        cls.zero = distributed.run_case("hand-mlp", B, 2, "zero1")["ranks"]

    def test_ddp_start_is_parameters_adam_state_buckets_and_data(self):
        for r in self.ddp:
            self.assertEqual(sum(r["ddpBucketSizes"]), PARAMS)
            self.assertGreaterEqual(r["startBytes"], 4 * PARAMS + DATA)
            self.assertLess(r["startBytes"], 4 * PARAMS + DATA + SCALARS)

    def test_ddp_backward_peak_adds_the_gradients_and_one_activation_gradient(self):
        for r in self.ddp:
            got = r["phasePeakBytes"]["backward"] - r["startBytes"]
            self.assertGreaterEqual(got, PARAMS + B * H * F)
            self.assertLess(got, PARAMS + B * H * F + SCALARS)

    def test_zero1_ranks_keep_the_state_of_their_partition(self):
        r0, r1 = self.zero
        self.assertEqual(r0["ownedParameterBytes"], W1)
        self.assertEqual(r1["ownedParameterBytes"], W2 + B1 + B2)
        for r, own in ((r0, W1), (r1, W2 + B1 + B2)):
            self.assertGreaterEqual(r["startBytes"], 2 * PARAMS + 2 * own + DATA)
            self.assertLess(r["startBytes"], 2 * PARAMS + 2 * own + DATA + SCALARS)

    def test_the_profiler_start_agrees(self):
        # within the scalars, or one parameter-sized buffer over when gloo's thread frees DDP's broadcast buffer
        for r in self.ddp + self.zero:
            self.assertLess(abs(r["profilerStartBytes"] - r["startBytes"]), SCALARS + PARAMS + 1)


if __name__ == "__main__":
    unittest.main()
