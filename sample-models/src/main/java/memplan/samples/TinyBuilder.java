package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.AvgPool2d;
import memplan.ops.BatchNorm2d;
import memplan.ops.Concat;
import memplan.ops.CrossEntropy;
import memplan.ops.Dropout;
import memplan.ops.Flatten;
import memplan.ops.GlobalAvgPool;
import memplan.ops.Linear;
import memplan.ops.Mul;
import memplan.ops.Pair;
import memplan.ops.ReLU;
import memplan.ops.Sigmoid;

/**
 * Tiny models for fast tests (one training iteration at batch 8 costs well under a millisecond of arithmetic).
 * Together with tiny-lstm ({@link LstmBuilder}) and tiny-transformer ({@link TinyTransformerBuilder}) they use
 * every op kind of the engine except Upsample and MseLoss (see unet-small and bert-base).
 */
final class TinyBuilder {
    private TinyBuilder() {
    }

    /** 64-32-10 with a sigmoid gate (Linear, ReLU, Sigmoid, Mul, Dropout). */
    static ModelDef tinyMlp() {
        Net n = new Net("tiny-mlp",
                "Tiny MLP 64-32-10 with a sigmoid-gated hidden layer (ReLU(fc1) * Sigmoid(gate)) and dropout 0.1");
        String in = n.input("input", "N", 64);
        String y = n.intInput("target", "N");
        String a = n.add("fc1", new Linear(32, true), in);
        a = n.add("relu", new ReLU(), a);
        String g = n.add("gate", new Linear(32, true), in);
        g = n.add("sigmoid", new Sigmoid(), g);
        String x = n.add("mul", new Mul(), a, g);
        x = n.add("dropout", new Dropout(0.1), x);
        x = n.add("fc2", new Linear(10, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }

    /**
     * 1x16x16 images, two conv(3x3, no bias) + BatchNorm + ReLU + MaxPool blocks (8 and 16 channels), then a
     * two-scale pooling head: AvgPool2d(2) and GlobalAvgPool, each flattened, concatenated, Linear to 10 classes.
     */
    static ModelDef tinyCnn() {
        Net n = new Net("tiny-cnn", "Tiny CNN on 1x16x16: two conv3x3+BatchNorm+ReLU+MaxPool blocks (8, 16 channels), "
                + "AvgPool2d and GlobalAvgPool heads concatenated, Linear to 10 classes");
        String x = n.input("input", "N", 1, 16, 16);
        String y = n.intInput("target", "N");
        for (int i = 1; i <= 2; i++) {
            x = n.add("conv" + i, Net.conv(8 * i, 3, 1, 1, false), x);
            x = n.add("bn" + i, new BatchNorm2d(1e-5, 0.1), x);
            x = n.add("relu" + i, new ReLU(), x);
            x = n.add("pool" + i, Net.maxPool(2, 2, 0), x);
        }
        String a = n.add("avgpool", new AvgPool2d(Pair.of(2), Pair.of(2), Pair.of(0)), x);
        a = n.add("flatten_avg", new Flatten(1), a);
        String g = n.add("gap", new GlobalAvgPool(), x);
        g = n.add("flatten_gap", new Flatten(1), g);
        x = n.add("concat", new Concat(1), a, g);
        x = n.add("fc", new Linear(10, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }
}
