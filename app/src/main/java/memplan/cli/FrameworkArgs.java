package memplan.cli;

import memplan.framework.FrameworkProfile;
import memplan.framework.OptimizerForm;
import memplan.framework.ZeroGrad;
import picocli.CommandLine.Option;

/** Options choosing whose memory behaviour a profile, plan or simulation follows (docs/fidelity.md). */
public final class FrameworkArgs {
    @Option(names = "--framework", paramLabel = "pytorch-cpu|pytorch-cuda|generic",
            description = "Memory behaviour to predict: pytorch-cpu or pytorch-cuda (PyTorch 1.13: what it saves for "
                    + "backward, optimizer temporaries, gradients kept until zero_grad) or generic (MemPlan's op-level "
                    + "baseline; default: ${DEFAULT-VALUE}).", defaultValue = "pytorch-cpu")
    String framework;

    @Option(names = "--optimizer-form", paramLabel = "single-tensor|foreach",
            description = "PyTorch optimizer implementation: single-tensor (1.13's default) or foreach (foreach=True: "
                    + "temporaries for all parameters at once; default: ${DEFAULT-VALUE}).",
            defaultValue = "single-tensor")
    String optimizerForm;

    @Option(names = "--zero-grad", paramLabel = "none|zeros",
            description = "What zero_grad does: none (set_to_none=True, gradients freed) or zeros (set_to_none=False, "
                    + "1.13's default: gradients stay allocated; default: ${DEFAULT-VALUE}).", defaultValue = "none")
    String zeroGrad;

    public FrameworkProfile profile() {
        try {
            return FrameworkProfile.parse(framework).withOptimizerForm(OptimizerForm.parse(optimizerForm))
                    .withZeroGrad(ZeroGrad.parse(zeroGrad));
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
    }
}
