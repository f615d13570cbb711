package memplan.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/** A (height, width) pair of a 2-D op attribute such as a kernel size or stride. */
public record Pair(int h, int w) {
    public static Pair of(int v) {
        return new Pair(v, v);
    }

    public JsonNode toJson() {
        if (h == w) return JsonNodeFactory.instance.numberNode(h);
        return JsonNodeFactory.instance.arrayNode().add(h).add(w);
    }

    @Override
    public String toString() {
        return h == w ? Integer.toString(h) : h + "x" + w;
    }
}
