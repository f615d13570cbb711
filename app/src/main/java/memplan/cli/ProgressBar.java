package memplan.cli;

import memplan.exec.IterationResult;
import memplan.exec.ProgressListener;
import memplan.units.ByteSize;

import java.io.PrintWriter;
import java.util.Locale;

/** A one-line progress bar on standard error, redrawn in place; iteration lines go to standard output. */
final class ProgressBar implements ProgressListener {
    private final PrintWriter err;
    private final PrintWriter out;
    private final boolean lines;
    private long lastDraw;
    /** Redrawing in place only makes sense on a terminal; logs get the iteration lines only. */
    private final boolean draw = System.console() != null;

    ProgressBar(PrintWriter err, PrintWriter out, boolean printIterations) {
        this.err = err;
        this.out = out;
        this.lines = printIterations;
    }

    @Override
    public void progress(double fraction, String what) {
        long now = System.nanoTime();
        if (!draw) return;
        if (now - lastDraw < 100_000_000L && fraction < 1) return;
        lastDraw = now;
        int width = 30, filled = (int) Math.round(fraction * width);
        String label = what.length() > 40 ? what.substring(0, 37) + "..." : what;
        err.printf(Locale.ROOT, "\r[%s%s] %3.0f%% %-40s", "#".repeat(filled),
                ".".repeat(width - filled), 100 * fraction, label);
        err.flush();
    }

    @Override
    public void iterationDone(IterationResult r) {
        if (draw) {
            err.print("\r" + " ".repeat(80) + "\r");
            err.flush();
        }
        if (lines) {
            out.printf(Locale.ROOT,
                    "iteration %3d  loss %.5f  peak %s measured / %s predicted  time %.1f ms (predicted %.1f ms)%n",
                    r.iteration(), r.loss(), ByteSize.format(r.measuredPeakBytes()),
                    ByteSize.format(r.predictedPeakBytes()), 1e3 * r.seconds(), 1e3 * r.predictedSeconds());
            out.flush();
        }
    }

    void done() {
        if (!draw) return;
        err.print("\r" + " ".repeat(80) + "\r");
        err.flush();
    }
}
