package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.Linear;
import memplan.ops.ReLU;

/** lenet5: LeNet-5 on 1x32x32 images (conv 6@5x5, pool, conv 16@5x5, pool, fc 120, 84, 10), ReLU and max pooling. */
final class LeNetBuilder {
    private LeNetBuilder() {
    }

    static ModelDef lenet5() {
        Net n = new Net("lenet5",
                "LeNet-5 on 1x32x32 images: conv 6@5x5, max-pool, conv 16@5x5, max-pool, fc 120-84-10, ReLU");
        String x = n.input("input", "N", 1, 32, 32);
        String y = n.intInput("target", "N");
        x = n.add("conv1", Net.conv(6, 5, 1, 0, true), x);
        x = n.add("relu1", new ReLU(), x);
        x = n.add("pool1", Net.maxPool(2, 2, 0), x);
        x = n.add("conv2", Net.conv(16, 5, 1, 0, true), x);
        x = n.add("relu2", new ReLU(), x);
        x = n.add("pool2", Net.maxPool(2, 2, 0), x);
        x = n.add("flatten", new Flatten(1), x);
        x = n.add("fc1", new Linear(120, true), x);
        x = n.add("relu3", new ReLU(), x);
        x = n.add("fc2", new Linear(84, true), x);
        x = n.add("relu4", new ReLU(), x);
        x = n.add("fc3", new Linear(10, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }
}
