package memplan.samples;

import memplan.graph.Graph;
import memplan.ir.DType;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.OnnxExporter;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.ops.CrossEntropy;
import memplan.ops.Input;
import memplan.profile.MemoryProfile;
import memplan.train.Optimizer;
import memplan.train.TrainingGraph;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every sample the ONNX exporter covers (all but those with the fused Attention op or LSTMCell, which an ONNX
 * export writes as their unfused parts), exported as PyTorch would and imported back: same parameter count and
 * the same baseline peak. Weights go to a sparse external data file, so VGG-16 costs nothing.
 */
class OnnxZooRoundTripTest {
    @TempDir
    Path dir;

    static long peak(ModelDef m, int batch) {
        return MemoryProfile.of(TrainingGraph.derive(Graph.instantiate(m, batch, DType.FP32), Optimizer.SGD)).peakBytes();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-mlp", "tiny-cnn", "mlp", "lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "unet-small"})
    void sameAsOriginal(String name) throws Exception {
        ModelDef original = SampleModels.load(name);
        Path f = dir.resolve(name + ".onnx");
        OnnxExporter.write(original, 17, f, true);
        OnnxOptions opts = OnnxOptions.defaults();
        for (Layer l : original.layers()) if (l.op() instanceof CrossEntropy) opts = opts.withLoss(OnnxOptions.Loss.CE);
        for (Layer l : original.layers())
            if (l.op() instanceof Input in && in.dtype() == null) {
                int[] shape = new int[in.dims().size()];
                for (int i = 0; i < shape.length; i++) {
                    String d = in.dims().get(i);
                    shape[i] = Character.isDigit(d.charAt(0)) ? Integer.parseInt(d) : original.dims().getOrDefault(d, 1);
                }
                opts = opts.withInputShape(l.name(), shape);
            }
        ModelDef imported = OnnxImporter.read(f, opts);
        int batch = 2;
        assertEquals(Graph.instantiate(original, batch, DType.FP32).parameterCount(),
                Graph.instantiate(imported, batch, DType.FP32).parameterCount(), name + " parameters");
        assertEquals(peak(original, batch), peak(imported, batch), name + " baseline peak");
    }
}
