package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Flatten;
import memplan.ops.Linear;
import memplan.ops.ReLU;

/**
 * vgg16: torchvision's VGG-16 (configuration D, no batch norm) at 224x224. Layer names follow torchvision's
 * module indices. Its AdaptiveAvgPool2d(7, 7) is the identity at 224 and is left out.
 */
final class VggBuilder {
    /** Channels of each 3x3 convolution; 0 is a 2x2 max-pool. */
    private static final int[] VGG16 = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};

    private VggBuilder() {
    }

    static ModelDef vgg16() {
        Net n = new Net("vgg16",
                "VGG-16 (configuration D, no batch norm), torchvision layout, 3x224x224 input, 1000 classes");
        String x = n.input("input", "N", 3, 224, 224);
        String y = n.intInput("target", "N");
        int i = 0;
        for (int c : VGG16) {
            if (c == 0) {
                x = n.add("features." + i++, Net.maxPool(2, 2, 0), x);
            } else {
                x = n.add("features." + i++, Net.conv(c, 3, 1, 1, true), x);
                x = n.add("features." + i++, new ReLU(), x);
            }
        }
        x = n.add("flatten", new Flatten(1), x);
        x = n.add("classifier.0", new Linear(4096, true), x);
        x = n.add("classifier.1", new ReLU(), x);
        x = n.add("classifier.2", new Dropout(0.5), x);
        x = n.add("classifier.3", new Linear(4096, true), x);
        x = n.add("classifier.4", new ReLU(), x);
        x = n.add("classifier.5", new Dropout(0.5), x);
        x = n.add("classifier.6", new Linear(1000, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }
}
