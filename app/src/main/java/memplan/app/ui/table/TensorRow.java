package memplan.app.ui.table;

import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import memplan.app.ui.session.Analysis;
import memplan.train.TensorInfo;

/** One row of the tensor table: fixed facts of a tensor and its current technique. */
public final class TensorRow {
    private final TensorInfo tensor;
    private final int first, last;
    private final boolean saved;
    private final String layer;
    private final ObjectProperty<Technique> technique = new SimpleObjectProperty<>(Technique.KEEP);

    public TensorRow(Analysis a, TensorInfo t) {
        this.tensor = t;
        this.first = a.liveness().first(t.id());
        this.last = a.liveness().last(t.id());
        this.saved = a.savedForBackward(t.id());
        int n = a.nodeOf(t.id());
        this.layer = n < 0 ? "" : a.graph().nodes().get(n).name();
    }

    public int id() { return tensor.id(); }
    public String name() { return tensor.name(); }
    public TensorInfo tensor() { return tensor; }
    public long bytes() { return tensor.bytes(); }
    public String role() { return tensor.role().label(); }
    public String shape() { return tensor.shape().toString(); }
    public int first() { return first; }
    public int last() { return last; }
    public boolean saved() { return saved; }
    public String layer() { return layer; }
    public ObjectProperty<Technique> techniqueProperty() { return technique; }
}
