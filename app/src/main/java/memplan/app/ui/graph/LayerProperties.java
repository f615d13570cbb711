package memplan.app.ui.graph;

import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.PlanEdits;
import memplan.graph.Graph;
import memplan.graph.Node;
import memplan.graph.Value;
import memplan.plan.Plan;
import memplan.train.TensorInfo;

import java.util.ArrayList;
import java.util.List;

/**
 * What the properties panel shows for one layer (as Netron does for a node): its full name, op, input and output
 * shapes, parameters, the bytes it holds at the peak, and each of its tensors with role, size, whether backward
 * keeps it, and the technique the plan gives it. Pure, so it is tested without a screen.
 */
public record LayerProperties(String name, String op, List<String> inputs, List<String> outputs, List<String> params,
                              long paramBytes, long bytesAtPeak, List<TensorLine> tensors) {

    /** One tensor of the layer. */
    public record TensorLine(int id, String name, String role, long bytes, String shape, boolean saved,
                             String technique) {
    }

    public static LayerProperties of(Analysis a, Evaluation ev, int node) {
        Graph g = a.graph();
        Node n = g.nodes().get(node);
        List<String> in = new ArrayList<>(), out = new ArrayList<>(), params = new ArrayList<>();
        for (int v : n.inputs()) in.add(describe(g.value(v)));
        for (int v : n.outputs()) out.add(describe(g.value(v)));
        long pb = 0;
        for (int v : n.params()) {
            Value val = g.value(v);
            params.add(describe(val) + "  " + Fmt.bytes(val.bytes()));
            pb += val.bytes();
        }
        Plan p = ev == null ? null : ev.plan();
        List<TensorLine> ts = new ArrayList<>();
        for (int t : a.tensorsOf(node)) {
            TensorInfo ti = a.schedule().tensor(t);
            String tech = p == null || t >= p.size() ? "keep" : PlanEdits.techniqueOf(p.decision(t)).label;
            ts.add(new TensorLine(t, ti.name(), ti.role().label(), ti.bytes(), ti.shape().toString(),
                    a.savedForBackward(t), tech));
        }
        long atPeak = ev == null || node >= ev.nodeBytesAtPeak().length ? 0 : ev.nodeBytesAtPeak()[node];
        return new LayerProperties(n.name(), n.op().type(), in, out, params, pb, atPeak, ts);
    }

    private static String describe(Value v) {
        return v.name() + " " + v.shape() + " " + v.dtype().jsonName();
    }

    /** Tensors that backward reads (PyTorch's saved tensors). */
    public List<TensorLine> saved() {
        return tensors.stream().filter(TensorLine::saved).toList();
    }
}
