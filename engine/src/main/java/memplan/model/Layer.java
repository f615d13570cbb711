package memplan.model;

import memplan.ops.Op;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One node of a network definition: a named op applied to named inputs. An input reference is a layer name
 * (its output 0) or "name:k" for output k. {@code tie} maps one of this op's parameters to another layer's,
 * written "layer.param" (GPT-2's output projection reuses the token embedding this way).
 */
public record Layer(String name, Op op, List<String> inputs, Map<String, String> tie) {
    public Layer {
        inputs = List.copyOf(inputs);
        // keeps file order: Map.copyOf's order varies per JVM run
        tie = Collections.unmodifiableMap(new LinkedHashMap<>(tie));
    }

    public Layer(String name, Op op, List<String> inputs) {
        this(name, op, inputs, Map.of());
    }

    public static Layer of(String name, Op op, String... inputs) {
        return new Layer(name, op, List.of(inputs), Map.of());
    }
}
