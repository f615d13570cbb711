package memplan.train;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Which parameters get no gradient and no optimizer state: those a {@code frozen} pattern names, unless a
 * {@code trainable} pattern names them too (LoRA freezes everything but its adapters this way). A pattern is a glob
 * over parameter names ({@code *} any run of characters, dots included; {@code ?} one character); a pattern
 * without wildcards also names every parameter under it as a module, so {@code h0.attn} freezes
 * {@code h0.attn.q.weight} as PyTorch's {@code module.requires_grad_(False)} would.
 */
public record FrozenParams(List<String> frozen, List<String> trainable) {
    public static final FrozenParams NONE = new FrozenParams(List.of(), List.of());

    public FrozenParams {
        frozen = List.copyOf(frozen);
        trainable = List.copyOf(trainable);
        for (String p : frozen) check(p);
        for (String p : trainable) check(p);
    }

    /** Freezes what the patterns name. */
    public static FrozenParams of(List<String> patterns) {
        return new FrozenParams(patterns, List.of());
    }

    public boolean isEmpty() {
        return frozen.isEmpty();
    }

    /** Both sets of rules: frozen if either freezes it, unless a trainable pattern of either names it. */
    public FrozenParams and(FrozenParams more) {
        List<String> f = new ArrayList<>(frozen), t = new ArrayList<>(trainable);
        f.addAll(more.frozen);
        t.addAll(more.trainable);
        return new FrozenParams(f, t);
    }

    public boolean isFrozen(String paramName) {
        boolean f = false;
        for (String p : frozen) f |= matches(p, paramName);
        if (!f) return false;
        for (String p : trainable) if (matches(p, paramName)) return false;
        return true;
    }

    /** Whether a pattern names a parameter: as a glob over the whole name, or as a module prefix. */
    public static boolean matches(String pattern, String name) {
        if (pattern.indexOf('*') < 0 && pattern.indexOf('?') < 0)
            return name.equals(pattern) || name.startsWith(pattern + ".");
        return glob(pattern).matcher(name).matches();
    }

    private static Pattern glob(String pattern) {
        StringBuilder re = new StringBuilder();
        for (char c : pattern.toCharArray()) {
            if (c == '*') re.append(".*");
            else if (c == '?') re.append('.');
            else re.append(Pattern.quote(String.valueOf(c)));
        }
        return Pattern.compile(re.toString());
    }

    private static void check(String p) {
        if (p == null || p.isBlank()) throw new IllegalArgumentException("an empty parameter name pattern");
    }
}
