package memplan.ops;

/** Ops that move or copy data without arithmetic: views (Reshape, Flatten) and copies. */
public sealed interface MovementOp extends Op permits Reshape, Flatten, Transpose, Concat, Slice, Split, Pad, Upsample,
        Resize, Flip, ScatterND {
}
