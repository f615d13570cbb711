package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.Linear;
import memplan.ops.ReLU;

/** mlp: a 784-512-256-10 multilayer perceptron on flattened 1x28x28 images (MNIST-sized). */
final class MlpBuilder {
    private MlpBuilder() {
    }

    static ModelDef mlp() {
        Net n = new Net("mlp",
                "Multilayer perceptron 784-512-256-10 with ReLU on flattened 1x28x28 images (MNIST-sized)");
        String x = n.input("input", "N", 1, 28, 28);
        String y = n.intInput("target", "N");
        x = n.add("flatten", new Flatten(1), x);
        x = n.add("fc1", new Linear(512, true), x);
        x = n.add("relu1", new ReLU(), x);
        x = n.add("fc2", new Linear(256, true), x);
        x = n.add("relu2", new ReLU(), x);
        x = n.add("fc3", new Linear(10, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }
}
