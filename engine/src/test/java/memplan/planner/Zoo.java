package memplan.planner;

import memplan.graph.Graph;
import memplan.io.ModelJson;
import memplan.ir.DType;
import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.ops.Linear;
import memplan.ops.ReLU;
import memplan.plan.Plan;
import memplan.sim.DeviceModel;
import memplan.sim.Simulator;
import memplan.train.Optimizer;
import memplan.train.Schedule;
import memplan.train.TrainingGraph;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test models: the sample zoo's checked-in files (the engine cannot depend on the sample-models module) and chains. */
final class Zoo {
    static final DeviceModel H100 = DeviceModel.preset("h100");
    /** Every sample model, small ones first. */
    static final List<String> ALL = List.of("tiny-mlp", "tiny-cnn", "tiny-lstm", "tiny-transformer", "mlp", "lenet5", "alexnet",
            "vgg16", "resnet18", "resnet50", "unet-small", "lstm-lm", "bert-base", "gpt2-small");

    private Zoo() {
    }

    static Path dir() {
        for (Path p : List.of(Path.of("../sample-models/src/main/resources/memplan/models"), Path.of("sample-models/src/main/resources/memplan/models")))
            if (Files.isDirectory(p)) return p;
        throw new IllegalStateException("sample model files not found from " + Path.of("").toAbsolutePath());
    }

    static ModelDef model(String name) {
        return ModelJson.read(dir().resolve(name + ".json"));
    }

    static Schedule schedule(String name, int batch) {
        return TrainingGraph.derive(Graph.instantiate(model(name), batch, DType.FP32), Optimizer.ADAM);
    }

    /** A uniform chain of {@code layers} Linear(width)+ReLU layers. */
    static Schedule chain(int layers, int width, int batch) {
        ModelDef.Builder b = ModelDef.builder("chain" + layers);
        String x = b.add("x", new Input(List.of("N", String.valueOf(width)), null));
        String y = b.add("y", new Input(List.of("N"), DType.INT64));
        for (int i = 0; i < layers; i++) {
            x = b.add("fc" + i, new Linear(width, true), x);
            x = b.add("relu" + i, new ReLU(), x);
        }
        x = b.add("out", new Linear(10, true), x);
        b.add("loss", new CrossEntropy(1), x, y);
        return TrainingGraph.derive(Graph.instantiate(b.build(), batch, DType.FP32), Optimizer.SGD);
    }

    static long baselinePeak(Schedule s) {
        return Simulator.simulate(Plan.baseline(s), H100).peakBytes();
    }
}
