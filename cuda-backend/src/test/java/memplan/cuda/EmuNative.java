package memplan.cuda;

/** JNI entry points of the kernel emulator (src/test/emu/emu_jni.cpp), loaded by {@link EmuBackend#load}. */
final class EmuNative {
    private EmuNative() {
    }

    static native long alloc(long bytes);

    static native void free(long address);

    static native void write(long address, float[] src, int from, int count);

    static native void read(long address, float[] dst, int from, int count);

    static native void memset(long address, byte value, long bytes);

    static native void copy(long dst, long src, long bytes);

    /** Runs a kernel by name; returns an error message or null. */
    static native String launch(String name, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
            long[] args);
}
