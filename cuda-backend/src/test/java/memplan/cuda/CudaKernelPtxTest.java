package memplan.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** Checks the checked-in PTX against the kernels the Java side launches, without a GPU. */
class CudaKernelPtxTest {
    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)", Pattern.DOTALL);
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+)");

    static String ptx(String module) throws IOException {
        try (InputStream in = CudaKernelPtxTest.class.getResourceAsStream(Kernels.resource(module))) {
            assertNotNull(in, "missing resource " + Kernels.resource(module) + " (run cuda-backend/build-ptx.sh)");
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** Entry name -> signature in the letters of {@link Kernels}: u64 = p or l, u32 = i, f32 = f, f64 = d. */
    static Map<String, String> entries(String text) {
        Map<String, String> out = new HashMap<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) {
            StringBuilder sig = new StringBuilder();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                sig.append(switch (p.group(1)) {
                    case "u64" -> 'P';
                    case "u32", "s32" -> 'i';
                    case "f32" -> 'f';
                    case "f64" -> 'd';
                    default -> '?';
                });
            }
            out.put(m.group(1), sig.toString());
        }
        return out;
    }

    @Test
    void everyModuleIsPtxIsa80ForCompute75() throws IOException {
        for (String module : Kernels.MODULES) {
            String text = ptx(module);
            assertTrue(text.contains("\n.version 8.0\n"),
                    module + ": PTX ISA must be 8.0 (loads on CUDA 12.0+ drivers)");
            assertTrue(text.contains("\n.target sm_75\n"), module + ": target must be sm_75");
            assertTrue(text.contains("\n.address_size 64\n"), module);
        }
    }

    @Test
    void everyLaunchedKernelExistsWithTheSameParameters() throws IOException {
        Map<String, Map<String, String>> byModule = new HashMap<>();
        for (String module : Kernels.MODULES) byModule.put(module, entries(ptx(module)));
        StringBuilder problems = new StringBuilder();
        for (Kernels.Spec k : Kernels.all()) {
            Map<String, String> e = byModule.get(k.module());
            String ptxSig = e == null ? null : e.get(k.name());
            String javaSig = k.signature().replace('p', 'P').replace('l', 'P');
            if (ptxSig == null) problems.append(k).append(": no such .entry in ").append(k.module()).append(".ptx\n");
            else if (!ptxSig.equals(javaSig))
                problems.append(k).append(": Java ").append(k.signature()).append(" vs PTX ").append(ptxSig).append('\n');
        }
        assertEquals("", problems.toString());
    }

    /**
     * PTX cannot tell a pointer from a long long (both .u64); the CUDA source can. Kernels made by a macro
     * (SGEMM_ENTRY) take the macro's parameter list.
     */
    @Test
    void everyLaunchedKernelMatchesItsCudaSourceSignature() throws IOException {
        Pattern kernel = Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\(\\d+\\) )?(\\w+)\\(([^)]*)\\)");
        Map<String, String> sigs = new HashMap<>();
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("src/main/cuda"))) {
            for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files::iterator) {
                Matcher m = kernel.matcher(java.nio.file.Files.readString(f));
                while (m.find()) {
                    StringBuilder sig = new StringBuilder();
                    for (String p : m.group(2).split(",")) {
                        p = p.replace("\\", "").trim();
                        sig.append(p.contains("*") ? 'p' : p.contains("long long") ? 'l'
                                : p.contains("double") ? 'd' : p.contains("float") ? 'f' : p.contains("int") ? 'i'
                                        : '?');
                    }
                    sigs.put(m.group(1), sig.toString());
                }
            }
        }
        StringBuilder problems = new StringBuilder();
        for (Kernels.Spec k : Kernels.all()) {
            String src = sigs.get(k.name().startsWith("sgemm_") ? "name" : k.name());
            if (!k.signature().equals(src))
                problems.append(k).append(": Java ").append(k.signature()).append(" vs source ").append(src).append('\n');
        }
        assertEquals("", problems.toString());
    }

    @Test
    void everyPtxEntryIsUsedAndNamesAreUnique() throws IOException {
        Set<String> declared = new HashSet<>();
        for (Kernels.Spec k : Kernels.all()) assertTrue(declared.add(k.name()), "declared twice: " + k);
        for (String module : Kernels.MODULES)
            for (String name : entries(ptx(module)).keySet())
                assertTrue(declared.contains(name), module + ".ptx has a kernel the backend never launches: " + name);
    }

    @Test
    void dynamicSharedMemoryOfAttentionStaysUnder48KiB() {
        for (int dh = 1; dh <= 256; dh++) {
            int tileF = Math.max(1, Math.min(64, 48 * 1024 / (8 * dh)));
            assertTrue(2 * tileF * dh * 4 <= 48 * 1024, "forward dh=" + dh);
            int tileB = Math.max(1, Math.min(64, 48 * 1024 / (4 * (2 * dh + 2))));
            assertTrue((2 * tileB * dh + 2 * tileB) * 4 <= 48 * 1024, "backward dh=" + dh);
        }
    }
}
