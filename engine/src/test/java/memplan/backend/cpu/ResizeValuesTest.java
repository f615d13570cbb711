package memplan.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import memplan.ir.Shape;
import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.onnx.OnnxImporter;
import memplan.onnx.OnnxOptions;
import memplan.ops.Op;
import memplan.ops.Resize;
import memplan.ops.Upsample;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU Resize kernel computes what PyTorch's F.interpolate computes: for each file of onnx-spatial/ (bilinear,
 * bicubic and nearest at scale 1.5 and at sizes, align_corners both, linear 1-D, trilinear, nearest x2), the op the
 * importer makes of the exported Resize, run on the input PyTorch was given, matches PyTorch's output
 * (tools/pytorch/export_spatial_ops.py records both in manifest.json).
 */
class ResizeValuesTest {
    @Test
    void importedResizeMatchesPyTorchInterpolate() throws Exception {
        JsonNode values;
        try (InputStream in = getClass().getResourceAsStream("/onnx-spatial/manifest.json")) {
            values = new ObjectMapper().readTree(in).get("values");
        }
        assertEquals(10, values.size());
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) values::fields) {
            String file = e.getKey();
            ModelDef m = OnnxImporter.read(Path.of(getClass().getResource("/onnx-spatial/" + file).toURI()),
                    OnnxOptions.defaults());
            Op op = m.layers().stream().map(Layer::op).filter(o -> o instanceof Resize || o instanceof Upsample)
                    .findFirst().orElseThrow();
            JsonNode v = e.getValue();
            CpuHarness h = new CpuHarness(op, shape(v.get("z_shape")));
            assertEquals(shape(v.get("y_shape")), h.out[0].shape(), file);
            for (int i = 0; i < v.get("z").size(); i++) h.in[0].set(i, (float) v.get("z").get(i).asDouble());
            h.forward();
            double worst = 0;
            for (int i = 0; i < v.get("y").size(); i++)
                worst = Math.max(worst, Math.abs(h.out[0].get(i) - v.get("y").get(i).asDouble()));
            assertTrue(worst < 1e-5, file + ": largest difference from PyTorch " + worst);
        }
    }

    private static Shape shape(JsonNode dims) {
        int[] d = new int[dims.size()];
        for (int i = 0; i < d.length; i++) d[i] = dims.get(i).asInt();
        return new Shape(d);
    }
}
