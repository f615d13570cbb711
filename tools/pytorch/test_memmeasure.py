"""Checks the measurement method on a model small enough to count by hand.

Run: cd tools/pytorch && /usr/bin/python3 -m unittest test_memmeasure -v   (fidelity.py runs it first too)

Model: Linear(256, 512) -> ReLU -> Linear(512, 128), cross-entropy, batch 16, SGD with momentum, fp32.
Scalars (the loss, nll_loss's total_weight, the profiler's own 288-byte record per range) are a few hundred bytes
at most; the counts below are hundreds of kilobytes, so the tolerance SCALARS tells them apart from any tensor.
"""
import unittest

import torch
import torch.nn as nn

import memmeasure

F = 4                     # bytes per fp32 element
B, I, H, O = 16, 256, 512, 128
W1, B1, W2, B2 = H * I * F, H * F, O * H * F, O * F
PARAMS = W1 + B1 + W2 + B2
SCALARS = 512


class HandCountTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(I, H), nn.ReLU(), nn.Linear(H, O))
        x, y = torch.randn(B, I), torch.randint(0, O, (B,))
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        cls.r = memmeasure.measure(m, opt, nn.CrossEntropyLoss(), x, y)

    def test_start_is_parameters_momentum_data_and_labels(self):
        # set_to_none=True after the warm-up: no gradients; x fp32, y int64
        self.assertEqual(self.r["startBytes"], 2 * PARAMS + B * I * F + B * 8)

    def test_forward_peak_is_the_first_linear_output_and_the_relu_output(self):
        # ReLU (not in place) writes its output while the first Linear's output is still live
        got = self.r["phasePeakBytes"]["forward"] - self.r["startBytes"]
        self.assertGreaterEqual(got, 2 * B * H * F)
        self.assertLess(got, 2 * B * H * F + SCALARS)

    def test_backward_peak_is_all_weight_gradients_and_one_activation_gradient(self):
        # when grad(b1) is made, grad(W2), grad(b2), grad(W1) and the gradient of the first Linear's output are live
        got = self.r["peakBytes"] - self.r["startBytes"]
        self.assertGreaterEqual(got, PARAMS + B * H * F)
        self.assertLess(got, PARAMS + B * H * F + SCALARS)
        self.assertEqual(self.r["phasePeakBytes"]["backward"], self.r["peakBytes"])

    def test_optimizer_step_holds_the_gradients_and_no_large_temporary(self):
        got = self.r["phasePeakBytes"]["optimizer"] - self.r["startBytes"]
        self.assertGreaterEqual(got, PARAMS)
        self.assertLess(got, PARAMS + SCALARS)

    def test_the_iteration_returns_to_its_start(self):
        self.assertEqual(self.r["endBytes"], self.r["startBytes"])

    def test_saved_tensors(self):
        s = self.r["saved"]
        # ReLU's output (also the second Linear's input), log_softmax's output, nll_loss's total_weight scalar
        self.assertEqual(s["activationBytes"], B * H * F + B * O * F + F)
        # the first Linear's weight is not saved: its input (the data) needs no gradient
        self.assertEqual(s["parameterBytes"], W2)
        self.assertEqual(s["inputBytes"], B * I * F + B * 8)


if __name__ == "__main__":
    unittest.main()
