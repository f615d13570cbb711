package memplan.ops;

/** Operators MemPlan does not model, kept so a profile can still be seen. */
public sealed interface OpaqueOp extends Op permits Opaque {
}
