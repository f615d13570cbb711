package memplan.cli;

import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.train.Schedule;
import picocli.CommandLine.Option;

/** How a command gets its plan (a plan file, or a planner with a budget) and which device model predicts it. */
public final class PlanChoice {
    @Option(names = "--planner", description = "Planner to make the plan with (default: baseline).")
    String planner;

    @Option(names = "--budget", description = "Memory budget for the planner: bytes, with units (6GiB, 512MiB) or a share of the baseline peak (50%%).")
    String budget;

    @Option(names = "--device", description = "Device model of the prediction: h100, h200, a100, v100, cpu.")
    String device;

    @Option(names = "--link", description = "Host link of the device model: pcie3, pcie4, pcie5, nvlink-c2c.")
    String link;

    public DeviceModel device(String dflt) {
        DeviceModel d = DeviceModel.preset(device != null ? device : dflt);
        return link != null ? d.withLink(link) : d;
    }

    public Plan plan(Schedule s, DeviceModel d) {
        if (planner == null || planner.equals("baseline")) return Plan.baseline(s);
        throw new CliException("unknown planner '" + planner + "'");
    }
}
