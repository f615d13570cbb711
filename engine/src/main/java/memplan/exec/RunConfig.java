package memplan.exec;

/**
 * How to run: iterations, learning rate, seed (data, weights, dropout), and whether to return the final weights
 * (for comparing lossy plans; the checksum is always computed).
 */
public record RunConfig(int iterations, double learningRate, long seed, boolean keepWeights) {
    public RunConfig(int iterations, double learningRate, long seed) {
        this(iterations, learningRate, seed, false);
    }

    public RunConfig {
        if (iterations <= 0) throw new IllegalArgumentException("iterations must be positive, got " + iterations);
        if (!(learningRate > 0)) throw new IllegalArgumentException("learning rate must be positive, got "
                + learningRate);
    }

    public static RunConfig of(int iterations) {
        return new RunConfig(iterations, 0.01, 42);
    }
}
