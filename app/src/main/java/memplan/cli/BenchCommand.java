package memplan.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.lower.ExecutionSchedule;
import memplan.lower.Lowering;
import memplan.plan.Decision;
import memplan.plan.Plan;
import memplan.planner.InfeasibleBudgetException;
import memplan.planner.PlanContext;
import memplan.planner.Planner;
import memplan.planner.Planners;
import memplan.samples.SampleModels;
import memplan.sim.DeviceModel;
import memplan.sim.SimResult;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;
import memplan.units.ByteSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Benchmarks: every planner over the sample zoo at several budgets; re-simulation time after one toggle. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks of the planners and the simulator.",
        subcommands = {BenchPlannersCommand.class, BenchSimulateCommand.class, BenchChainsCommand.class,
            BenchCpuCommand.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final double[] BUDGETS = {1.0, 0.7, 0.5, 0.3};

    static Schedule schedule(String model, int batch, String optimizer) {
        if (!SampleModels.exists(model))
            throw new CliException("unknown model '" + model + "' (bundled: " + String.join(", ",
                    SampleModels.names()) + ")");
        return TrainingGraph.derive(Graph.instantiate(SampleModels.load(model), batch, DType.FP32),
                Optimizer.parse(optimizer));
    }
}
