package memplan.planner;

/** Swap timings that hide transfers behind compute, matching how the lowering releases and prefetches. */
final class SwapTiming {
    private SwapTiming() {
    }

    /**
     * The latest step after which a swap-in can be issued so the transfer (with 10% margin) is hidden by the steps
     * before the use; never before the swap-out.
     */
    static int prefetchAfter(PlanContext ctx, int out, int in, double transfer) {
        int p = in - 1;
        double hidden = 0;
        while (p > out && hidden < transfer * 1.1) hidden += ctx.stepSeconds(p--);
        return p;
    }

    /** After which step the lowering releases the device copy: once the swap-out could finish behind compute. */
    static int releaseAfter(PlanContext ctx, int out, int prefetch, double transfer) {
        int release = out;
        double behind = 0;
        while (release < prefetch && behind < transfer) behind += ctx.stepSeconds(++release);
        return release;
    }

    /** vDNN: issue the prefetch one layer ahead, one step before the use's predecessor. */
    static int oneLayerAhead(int out, int in) {
        return Math.max(out, in - 2);
    }
}
