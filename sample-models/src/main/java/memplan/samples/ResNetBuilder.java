package memplan.samples;

import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.BatchNorm2d;
import memplan.ops.CrossEntropy;
import memplan.ops.Flatten;
import memplan.ops.GlobalAvgPool;
import memplan.ops.Linear;
import memplan.ops.ReLU;

/**
 * resnet18 and resnet50 in torchvision's layout: convolutions without bias each followed by BatchNorm, basic
 * blocks (ResNet-18) or bottlenecks with the stride on the 3x3 convolution (ResNet-50, "v1.5"), a 1x1
 * convolution + BatchNorm downsample where the shape changes, global average pooling and a 1000-way fc.
 * Layer names follow torchvision's module names (layer1.0.conv1, layer1.0.downsample.0, ...).
 */
final class ResNetBuilder {
    private ResNetBuilder() {
    }

    static ModelDef resnet18() {
        return build("resnet18",
                "ResNet-18, torchvision layout (basic blocks [2,2,2,2], BatchNorm), 3x224x224 input, 1000 classes",
                false, new int[]{2, 2, 2, 2});
    }

    static ModelDef resnet50() {
        return build("resnet50",
                "ResNet-50, torchvision layout (bottlenecks [3,4,6,3], stride on the 3x3, BatchNorm), 3x224x224 "
                        + "input, 1000 classes",
                true, new int[]{3, 4, 6, 3});
    }

    private static ModelDef build(String name, String description, boolean bottleneck, int[] blocks) {
        Net n = new Net(name, description);
        String x = n.input("input", "N", 3, 224, 224);
        String y = n.intInput("target", "N");
        x = n.add("conv1", Net.conv(64, 7, 2, 3, false), x);
        x = n.add("bn1", bn(), x);
        x = n.add("relu", new ReLU(), x);
        x = n.add("maxpool", Net.maxPool(3, 2, 1), x);
        int expansion = bottleneck ? 4 : 1;
        int inplanes = 64;
        for (int stage = 0; stage < 4; stage++) {
            int planes = 64 << stage;
            for (int b = 0; b < blocks[stage]; b++) {
                int stride = stage > 0 && b == 0 ? 2 : 1;
                String p = "layer" + (stage + 1) + "." + b + ".";
                x = bottleneck ? bottleneck(n, p, x, inplanes, planes, stride) : basic(n, p, x,
                        inplanes, planes, stride);
                inplanes = planes * expansion;
            }
        }
        x = n.add("avgpool", new GlobalAvgPool(), x);
        x = n.add("flatten", new Flatten(1), x);
        x = n.add("fc", new Linear(1000, true), x);
        n.add("loss", new CrossEntropy(1), x, y);
        return n.build();
    }

    private static String basic(Net n, String p, String in, int inplanes, int planes, int stride) {
        String x = n.add(p + "conv1", Net.conv(planes, 3, stride, 1, false), in);
        x = n.add(p + "bn1", bn(), x);
        x = n.add(p + "relu1", new ReLU(), x);
        x = n.add(p + "conv2", Net.conv(planes, 3, 1, 1, false), x);
        x = n.add(p + "bn2", bn(), x);
        String identity = downsample(n, p, in, inplanes, planes, stride);
        x = n.add(p + "add", new Add(), x, identity);
        return n.add(p + "relu2", new ReLU(), x);
    }

    private static String bottleneck(Net n, String p, String in, int inplanes, int planes, int stride) {
        String x = n.add(p + "conv1", Net.conv(planes, 1, 1, 0, false), in);
        x = n.add(p + "bn1", bn(), x);
        x = n.add(p + "relu1", new ReLU(), x);
        x = n.add(p + "conv2", Net.conv(planes, 3, stride, 1, false), x);
        x = n.add(p + "bn2", bn(), x);
        x = n.add(p + "relu2", new ReLU(), x);
        x = n.add(p + "conv3", Net.conv(planes * 4, 1, 1, 0, false), x);
        x = n.add(p + "bn3", bn(), x);
        String identity = downsample(n, p, in, inplanes, planes * 4, stride);
        x = n.add(p + "add", new Add(), x, identity);
        return n.add(p + "relu3", new ReLU(), x);
    }

    /** The shortcut: the input itself, or a 1x1 convolution + BatchNorm when the shape changes. */
    private static String downsample(Net n, String p, String in, int inplanes, int out, int stride) {
        if (stride == 1 && inplanes == out) return in;
        String x = n.add(p + "downsample.0", Net.conv(out, 1, stride, 0, false), in);
        return n.add(p + "downsample.1", bn(), x);
    }

    private static BatchNorm2d bn() {
        return new BatchNorm2d(1e-5, 0.1);
    }
}
