package memplan.train;

import memplan.model.Layer;
import memplan.model.ModelDef;
import memplan.ops.Add;
import memplan.ops.ConstElementwise;
import memplan.ops.Dropout;
import memplan.ops.Linear;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LoRA adapters (Hu et al. 2021) as the peft library adds them: each targeted Linear layer {@code n} keeps its
 * (frozen) weight and gains {@code n.lora_A} (rank x in), {@code n.lora_B} (out x rank, zero at the start) and
 * {@code result = n(x) + lora_B(lora_A(dropout(x))) * alpha / rank}, so the saved tensors are peft's: lora_A keeps
 * its input (x, or the dropout's output and its mask), lora_B keeps lora_A's rank-wide output, the scale and the sum
 * keep nothing. A target names a Linear layer by its last dotted components, as peft matches module names
 * ({@code q_proj} names {@code model.layers.0.self_attn.q_proj}), or is a glob over whole layer names.
 *
 * @param rank    r, at least 1
 * @param alpha   the scale's numerator (peft's {@code lora_alpha}, default 8)
 * @param targets target module names (default q_proj, v_proj, peft's choice for Llama)
 * @param dropout peft's {@code lora_dropout} (0: no dropout layer)
 */
public record LoraConfig(int rank, double alpha, List<String> targets, double dropout) {
    public static final String ADAPTER_A = "lora_A", ADAPTER_B = "lora_B";
    /** What LoRA trains: the adapters; everything else it freezes. */
    public static final FrozenParams FREEZES = new FrozenParams(List.of("*"),
            List.of("*." + ADAPTER_A + ".weight", "*." + ADAPTER_B + ".weight"));

    public LoraConfig {
        targets = List.copyOf(targets);
        if (rank < 1) throw new IllegalArgumentException("LoRA rank r must be at least 1, got " + rank);
        if (!(alpha > 0) || Double.isInfinite(alpha))
            throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
        if (targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
        if (!(dropout >= 0 && dropout < 1))
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
    }

    /**
     * Parses {@code r=16,alpha=32,targets=q_proj,v_proj,dropout=0.05}: keys r, alpha, targets and dropout, any
     * order; the names after {@code targets=} run until the next key.
     */
    public static LoraConfig parse(String spec) {
        int rank = 8;
        double alpha = 8, dropout = 0;
        List<String> targets = new ArrayList<>();
        boolean targetsGiven = false;
        String key = null;
        for (String raw : spec.split(",", -1)) {
            String part = raw.trim();
            int eq = part.indexOf('=');
            String value;
            if (eq < 0) {
                if (!"targets".equals(key) || part.isEmpty())
                    throw new IllegalArgumentException("'" + part + "' is not key=value (keys: r, alpha, targets, "
                            + "dropout)");
                value = part;
            } else {
                key = part.substring(0, eq).trim().toLowerCase(Locale.ROOT);
                value = part.substring(eq + 1).trim();
            }
            switch (key) {
                case "r", "rank" -> rank = parseInt(value);
                case "alpha" -> alpha = parseNumber("alpha", value);
                case "dropout" -> dropout = parseNumber("dropout", value);
                case "targets", "target_modules" -> {
                    if (value.isEmpty()) throw new IllegalArgumentException("an empty target module name");
                    targets.add(value);
                    targetsGiven = true;
                }
                default -> throw new IllegalArgumentException("unknown LoRA key '" + key
                        + "' (keys: r, alpha, targets, dropout)");
            }
        }
        return new LoraConfig(rank, alpha, targetsGiven ? targets : List.of("q_proj", "v_proj"), dropout);
    }

    private static int parseInt(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LoRA rank r must be a whole number, got '" + v + "'");
        }
    }

    private static double parseNumber(String what, String v) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LoRA " + what + " must be a number, got '" + v + "'");
        }
    }

    public double scale() {
        return alpha / rank;
    }

    /**
     * Whether a target names a layer: the whole name, its last dotted components, or a glob over the name. An
     * ONNX-imported layer is named by PyTorch's export scope, {@code /blocks/blocks.0/qkv/MatMul}: its module is
     * the part before the last slash, so {@code qkv} names it too.
     */
    public boolean targets(String layerName) {
        int slash = layerName.lastIndexOf('/');
        String module = slash > 0 ? layerName.substring(layerName.lastIndexOf('/', slash - 1) + 1, slash) : null;
        for (String t : targets) {
            if (t.indexOf('*') >= 0 || t.indexOf('?') >= 0) {
                if (FrozenParams.matches(t, layerName)) return true;
            } else if (layerName.equals(t) || layerName.endsWith("." + t)
                    || module != null && (module.equals(t) || module.endsWith("." + t))) return true;
        }
        return false;
    }

    /**
     * The model with adapters on every targeted Linear layer; layers that read a targeted layer's output read the
     * adapted sum instead. Throws IllegalArgumentException when no Linear layer is targeted.
     */
    public ModelDef apply(ModelDef m) {
        Map<String, String> renamed = new LinkedHashMap<>();
        List<Layer> out = new ArrayList<>();
        for (Layer l : m.layers()) {
            out.add(rewire(l, renamed));
            if (!(l.op() instanceof Linear lin) || !targets(l.name())) continue;
            String n = l.name(), x = l.inputs().get(0);
            String src = x;
            if (dropout > 0) {
                out.add(Layer.of(n + ".lora_dropout", new Dropout(dropout), rewireRef(x, renamed)));
                src = n + ".lora_dropout";
            } else src = rewireRef(x, renamed);
            out.add(Layer.of(n + "." + ADAPTER_A, new Linear(rank, false), src));
            out.add(Layer.of(n + "." + ADAPTER_B, new Linear(lin.outFeatures(), false), n + "." + ADAPTER_A));
            out.add(Layer.of(n + ".lora_scale", ConstElementwise.scalar("mul", scale(), false), n + "." + ADAPTER_B));
            out.add(Layer.of(n + ".lora_add", new Add(), n, n + ".lora_scale"));
            renamed.put(n, n + ".lora_add");
        }
        if (renamed.isEmpty()) {
            List<String> linear = new ArrayList<>();
            for (Layer l : m.layers()) if (l.op() instanceof Linear && linear.size() < 6) linear.add(l.name());
            throw new IllegalArgumentException("LoRA targets " + String.join(", ", targets)
                    + " name no Linear layer of " + m.name() + (linear.isEmpty() ? " (it has none)"
                    : " (its Linear layers are named like " + String.join(", ", linear) + ")"));
        }
        return m.withLayers(out);
    }

    private static Layer rewire(Layer l, Map<String, String> renamed) {
        if (renamed.isEmpty()) return l;
        List<String> in = new ArrayList<>();
        for (String ref : l.inputs()) in.add(rewireRef(ref, renamed));
        return new Layer(l.name(), l.op(), in, l.tie());
    }

    private static String rewireRef(String ref, Map<String, String> renamed) {
        String base = ref.endsWith(":0") ? ref.substring(0, ref.length() - 2) : ref;
        String to = renamed.get(base);
        return to == null ? ref : to;
    }
}
