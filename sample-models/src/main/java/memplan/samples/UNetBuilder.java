package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.BatchNorm2d;
import memplan.ops.Concat;
import memplan.ops.CrossEntropy;
import memplan.ops.ReLU;
import memplan.ops.Upsample;

/**
 * unet-small: a three-level U-Net for per-pixel segmentation of 3x64x64 images into 4 classes. Each level is a
 * double 3x3 convolution (no bias) + BatchNorm + ReLU with 32, 64 and 128 channels; the decoder upsamples
 * (nearest, x2), concatenates the encoder's skip connection and applies a double convolution (the bilinear
 * variant of U-Net, without transposed convolutions); a 1x1 convolution gives the class logits.
 */
final class UNetBuilder {
    static final int CLASSES = 4;

    private UNetBuilder() {
    }

    static ModelDef unetSmall() {
        Net n = new Net("unet-small",
                "Small U-Net: 3 levels (32-64-128 channels), 3x64x64 input, nearest Upsample + Concat skips, "
                + CLASSES + "-class per-pixel CrossEntropy");
        String x = n.input("input", "N", 3, 64, 64);
        String y = n.intInput("target", "N", 64, 64);
        String e1 = doubleConv(n, "enc1", x, 32);
        x = n.add("pool1", Net.maxPool(2, 2, 0), e1);
        String e2 = doubleConv(n, "enc2", x, 64);
        x = n.add("pool2", Net.maxPool(2, 2, 0), e2);
        x = doubleConv(n, "bottleneck", x, 128);
        x = n.add("up2", new Upsample(2), x);
        x = n.add("cat2", new Concat(1), x, e2);
        x = doubleConv(n, "dec2", x, 64);
        x = n.add("up1", new Upsample(2), x);
        x = n.add("cat1", new Concat(1), x, e1);
        x = doubleConv(n, "dec1", x, 32);
        x = n.add("head", Net.conv(CLASSES, 1, 1, 0, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }

    private static String doubleConv(Net n, String p, String in, int channels) {
        String x = in;
        for (int i = 1; i <= 2; i++) {
            x = n.add(p + ".conv" + i, Net.conv(channels, 3, 1, 1, false), x);
            x = n.add(p + ".bn" + i, new BatchNorm2d(1e-5, 0.1), x);
            x = n.add(p + ".relu" + i, new ReLU(), x);
        }
        return x;
    }
}
