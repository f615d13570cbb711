package memplan.model;

import memplan.ops.Op;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A network definition, independent of batch size: its layers in file order, and default values for the
 * dimension symbols its inputs use besides the batch "N" (e.g. "T" = 1024 for GPT-2's sequence length).
 * {@code source} names where it came from (a file or a sample name) for error messages.
 */
public record ModelDef(String name, String description, Map<String, Integer> dims, List<Layer> layers, String source) {
    public static final String BATCH = "N";

    public ModelDef {
        // keeps file order: Map.copyOf's order varies per JVM run
        dims = Collections.unmodifiableMap(new LinkedHashMap<>(dims));
        layers = List.copyOf(layers);
    }

    public ModelDef withSource(String source) {
        return new ModelDef(name, description, dims, layers, source);
    }

    public ModelDef withLayers(List<Layer> newLayers) {
        return new ModelDef(name, description, dims, newLayers, source);
    }

    public Layer layer(String layerName) {
        for (Layer l : layers) if (l.name().equals(layerName)) return l;
        return null;
    }

    /** A fluent way to write models in code (the sample zoo, tests). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    public static final class Builder {
        private final String name;
        private String description = "";
        private final Map<String, Integer> dims = new LinkedHashMap<>();
        private final List<Layer> layers = new ArrayList<>();

        private Builder(String name) {
            this.name = name;
        }

        public Builder description(String d) {
            description = d;
            return this;
        }

        public Builder dim(String symbol, int defaultValue) {
            dims.put(symbol, defaultValue);
            return this;
        }

        /** Adds a layer and returns its name, so calls can be nested: {@code b.add("fc", new Linear(10, true), x)}. */
        public String add(String layerName, Op op, String... inputs) {
            layers.add(Layer.of(layerName, op, inputs));
            return layerName;
        }

        public String add(Layer layer) {
            layers.add(layer);
            return layer.name();
        }

        public ModelDef build() {
            return new ModelDef(name, description, dims, layers, name);
        }
    }
}
