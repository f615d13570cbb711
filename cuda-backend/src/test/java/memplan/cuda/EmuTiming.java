package memplan.cuda;

import java.nio.file.Path;

/** Times OpCheck's cases on the emulator (a developer tool: java -cp ... memplan.cuda.EmuTiming). */
public final class EmuTiming {
    public static void main(String[] args) throws Exception {
        EmuBackend.load(Path.of("").toAbsolutePath());
        java.io.PrintStream out = System.out;
        try (EmuBackend b = new EmuBackend()) {
            for (OpCheck.Case c : OpCheck.cases()) {
                if (args.length > 0 && !c.name().contains(args[0])) continue;
                long t0 = System.nanoTime();
                System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
                OpCheck.run(b, c.name(), null);
                System.setOut(out);
                out.printf("%-34s %6.1f s%n", c.name(), (System.nanoTime() - t0) / 1e9);
            }
        }
    }
}
