package memplan.ops;

import memplan.ir.Shape;

import java.util.Map;

/** Where data enters the graph: a data input, or a tensor of one value sized by the dimension symbols. */
public sealed interface SourceOp extends Op permits Input, Fill {
    /** The concrete output shape once the symbols are bound. */
    Shape resolve(Map<String, Integer> symbols);
}
