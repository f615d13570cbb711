package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Flatten;
import memplan.ops.Linear;
import memplan.ops.ReLU;

/**
 * alexnet: torchvision's AlexNet at 224x224. Layer names follow torchvision's module names (features.0, ...).
 * Its AdaptiveAvgPool2d(6, 6) is the identity at this size and is left out.
 */
final class AlexNetBuilder {
    private AlexNetBuilder() {
    }

    static ModelDef alexnet() {
        Net n = new Net("alexnet",
                "AlexNet, torchvision layout, 3x224x224 input, 1000 classes (AdaptiveAvgPool(6,6) is the identity "
                        + "at 224 and left out)");
        String x = n.input("input", "N", 3, 224, 224);
        String y = n.intInput("target", "N");
        x = n.add("features.0", Net.conv(64, 11, 4, 2, true), x);
        x = n.add("features.1", new ReLU(), x);
        x = n.add("features.2", Net.maxPool(3, 2, 0), x);
        x = n.add("features.3", Net.conv(192, 5, 1, 2, true), x);
        x = n.add("features.4", new ReLU(), x);
        x = n.add("features.5", Net.maxPool(3, 2, 0), x);
        x = n.add("features.6", Net.conv(384, 3, 1, 1, true), x);
        x = n.add("features.7", new ReLU(), x);
        x = n.add("features.8", Net.conv(256, 3, 1, 1, true), x);
        x = n.add("features.9", new ReLU(), x);
        x = n.add("features.10", Net.conv(256, 3, 1, 1, true), x);
        x = n.add("features.11", new ReLU(), x);
        x = n.add("features.12", Net.maxPool(3, 2, 0), x);
        x = n.add("flatten", new Flatten(1), x);
        x = n.add("classifier.0", new Dropout(0.5), x);
        x = n.add("classifier.1", new Linear(4096, true), x);
        x = n.add("classifier.2", new ReLU(), x);
        x = n.add("classifier.3", new Dropout(0.5), x);
        x = n.add("classifier.4", new Linear(4096, true), x);
        x = n.add("classifier.5", new ReLU(), x);
        x = n.add("classifier.6", new Linear(1000, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }
}
