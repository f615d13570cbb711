package memplan.framework;

import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Attention;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which attention kernels the framework runs, whatever form a model's Attention layers name: PyTorch 1.13 runs
 * Hugging Face's eager attention (the probabilities kept), PyTorch 2's scaled_dot_product_attention its flash or
 * memory-efficient kernels (output and log-sum-exp kept), or the model file's own choice.
 */
public enum AttentionImplementation {
    /** Each Attention layer keeps the form its model gives it. */
    MODEL,
    /** Every Attention layer in the eager form. */
    EAGER,
    /** Every Attention layer in the fused form. */
    FUSED;

    /** The name on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AttentionImplementation parse(String s) {
        for (AttentionImplementation a : values()) if (a.cliName().equalsIgnoreCase(s)) return a;
        throw new IllegalArgumentException("unknown attention implementation '" + s + "' (use model, eager or fused)");
    }

    /** The model with its Attention layers in this form (the model itself for MODEL or when nothing changes). */
    public ModelDef applyTo(ModelDef m) {
        if (this == MODEL) return m;
        Attention.Form form = this == EAGER ? Attention.Form.EAGER : Attention.Form.FUSED;
        boolean changes = false;
        List<Layer> layers = new ArrayList<>();
        for (Layer l : m.layers()) {
            boolean other = l.op() instanceof Attention a && a.form() != form;
            changes |= other;
            layers.add(other ? new Layer(l.name(), ((Attention) l.op()).withForm(form), l.inputs(), l.tie()) : l);
        }
        return changes ? m.withLayers(layers) : m;
    }
}
