package memplan.export;

import java.util.Optional;

/**
 * The PyTorch module a layer of an ONNX-imported model comes from. PyTorch's ONNX exporter names a node by the
 * scopes of the module calls it was made in, then its operator: {@code /layer1/layer1.0/conv1/Conv}. A scope is
 * an attribute name ({@code conv1}) or, for a child of a container, the container's name and the index
 * ({@code layer1.0}, {@code features.0.0}), so a scope that extends the previous one replaces it in the path.
 */
public final class ModuleScope {
    private ModuleScope() {
    }

    /**
     * The module path of the call that made the layer ({@code layer1.0.conv1}), "" for a node made at the top
     * level of the model's forward, or empty when the name carries no scopes (not an export from PyTorch).
     */
    public static Optional<String> of(String layerName) {
        if (!layerName.startsWith("/")) return Optional.empty();
        String[] seg = layerName.substring(1).split("/", -1);
        if (seg.length < 1) return Optional.empty();
        StringBuilder path = new StringBuilder();
        String prev = null;
        int prevStart = 0;
        for (int i = 0; i < seg.length - 1; i++) {
            String s = seg[i];
            if (s.isEmpty()) return Optional.empty();
            if (prev != null && s.startsWith(prev + ".")) {
                path.setLength(prevStart);
                path.append(s);
            } else {
                if (!path.isEmpty()) path.append('.');
                prevStart = path.length();
                path.append(s);
            }
            prev = s;
        }
        return Optional.of(path.toString());
    }

    /** Whether {@code inner} is {@code outer} or a module inside it. */
    public static boolean within(String inner, String outer) {
        return outer.isEmpty() || inner.equals(outer) || inner.startsWith(outer + ".");
    }
}
