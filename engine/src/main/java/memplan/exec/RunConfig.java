package memplan.exec;

/**
 * How to run: iterations, learning rate, seed (data, weights, dropout), the device capacity to open the backend
 * with, and the device model the prediction uses.
 */
public record RunConfig(int iterations, double learningRate, long seed) {
    public RunConfig {
        if (iterations <= 0) throw new IllegalArgumentException("iterations must be positive, got " + iterations);
        if (!(learningRate > 0)) throw new IllegalArgumentException("learning rate must be positive, got " + learningRate);
    }

    public static RunConfig of(int iterations) {
        return new RunConfig(iterations, 0.01, 42);
    }
}
