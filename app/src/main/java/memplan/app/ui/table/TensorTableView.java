package memplan.app.ui.table;

import javafx.beans.binding.Bindings;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import javafx.collections.transformation.FilteredList;
import javafx.collections.transformation.SortedList;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.OverrunStyle;
import javafx.scene.control.SelectionMode;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.control.cell.ComboBoxTableCell;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.PlanEdits;
import memplan.app.ui.session.SessionViewModel;
import org.controlsfx.control.textfield.TextFields;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

/** Every tensor of the iteration with its size, role, lifetime and technique; the technique column edits the plan. */
public final class TensorTableView extends BorderPane {
    private final SessionViewModel session;
    private final ObservableList<TensorRow> rows = FXCollections.observableArrayList();
    private final FilteredList<TensorRow> filtered = new FilteredList<>(rows, r -> true);
    private final TableView<TensorRow> table = new TableView<>();
    private final TextField filter = TextFields.createClearableTextField();
    private final CheckBox onlySaved = new CheckBox("only saved for backward");
    private final BooleanProperty techniquesEnabled = new SimpleBooleanProperty(false);
    private final Map<Integer, TensorRow> byId = new HashMap<>();
    private BiConsumer<TensorRow, Technique> onTechnique = (r, t) -> { };
    private boolean syncing;

    public TensorTableView(SessionViewModel session) {
        this.session = session;
        setId("tensorTable");
        table.setId("tensorTableView");
        table.setEditable(true);
        table.getSelectionModel().setSelectionMode(SelectionMode.MULTIPLE);
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.setPlaceholder(new Label("No model open"));
        filtered.predicateProperty().addListener(o -> table.setPlaceholder(new Label(
                rows.isEmpty() ? "No model open" : "No tensor matches the filter")));

        TableColumn<TensorRow, String> name = new TableColumn<>("Tensor");
        name.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().name()));
        name.setPrefWidth(230);
        name.setCellFactory(c -> new TableCell<>() {
            @Override
            protected void updateItem(String v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty ? null : v);
                setMnemonicParsing(false);
                // long names differ at their end (encoder.layer.0.attention.self.query/key/value): cut the start
                setTextOverrun(OverrunStyle.LEADING_ELLIPSIS);
                setTooltip(empty || v == null ? null : new Tooltip(v));
            }
        });
        TableColumn<TensorRow, String> role = new TableColumn<>("Role");
        role.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().role()));
        role.setPrefWidth(100);
        TableColumn<TensorRow, Long> size = new TableColumn<>("Size");
        size.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().bytes()));
        size.setCellFactory(c -> new TableCell<>() {
            @Override
            protected void updateItem(Long v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty || v == null ? null : Fmt.bytes(v));
                setAlignment(Pos.CENTER_RIGHT);
            }
        });
        size.setPrefWidth(85);
        size.setSortType(TableColumn.SortType.DESCENDING);
        TableColumn<TensorRow, String> shape = new TableColumn<>("Shape");
        shape.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().shape()));
        shape.setPrefWidth(120);
        TableColumn<TensorRow, String> life = new TableColumn<>("Lifetime");
        life.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(lifetime(c.getValue())));
        life.setComparator((p, q) -> Integer.compare(spanOf(p), spanOf(q)));
        life.setPrefWidth(110);
        TableColumn<TensorRow, String> saved = new TableColumn<>("Saved");
        saved.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().saved() ? "yes" : ""));
        saved.setPrefWidth(60);
        saved.setMinWidth(56);
        life.setMinWidth(90);
        size.setMinWidth(75);
        role.setMinWidth(80);
        TableColumn<TensorRow, Technique> tech = new TableColumn<>("Technique");
        tech.setId("techniqueColumn");
        tech.setCellValueFactory(c -> c.getValue().techniqueProperty());
        tech.setCellFactory(ComboBoxTableCell.forTableColumn(Technique.values()));
        tech.editableProperty().bind(techniquesEnabled);
        tech.setOnEditCommit(e -> {
            TensorRow r = e.getRowValue();
            Technique old = e.getOldValue();
            if (e.getNewValue() == null || e.getNewValue() == old) return;
            onTechnique.accept(r, e.getNewValue());
        });
        tech.setPrefWidth(150);
        table.getColumns().addAll(List.of(name, role, size, shape, life, saved, tech));

        SortedList<TensorRow> sorted = new SortedList<>(filtered);
        sorted.comparatorProperty().bind(table.comparatorProperty());
        table.setItems(sorted);

        filter.setPromptText("Filter by name or role");
        filter.setId("tensorFilter");
        filter.textProperty().addListener(o -> refilter());
        onlySaved.selectedProperty().addListener(o -> refilter());
        HBox.setHgrow(filter, Priority.ALWAYS);
        Label title = new Label("Tensors");
        title.getStyleClass().add("panel-title");
        Label count = new Label();
        count.getStyleClass().add("hint");
        count.textProperty().bind(Bindings.size(filtered).asString("%d shown"));
        HBox bar = new HBox(8, title, filter, onlySaved, count);
        bar.setAlignment(Pos.CENTER_LEFT);
        bar.setPadding(new Insets(4, 6, 4, 6));
        setTop(bar);
        setCenter(table);

        session.analysisProperty().addListener((o, a, n) -> {
            // a filter typed for one model would hide the next one's tensors
            if (a != null && n != null && a.model() != n.model()) {
                filter.clear();
                onlySaved.setSelected(false);
            }
            load(n);
        });
        techniquesEnabled.bind(session.planProperty().isNotNull());
        onTechnique = (r, t) -> session.setTechnique(r.id(), t);
        session.planProperty().addListener((o, a, p) -> {
            if (p == null) return;
            for (TensorRow r : rows)
                if (r.id() < p.size()) r.techniqueProperty().set(PlanEdits.techniqueOf(p.decision(r.id())));
        });
        table.getSelectionModel().selectedItemProperty().addListener((o, a, n) -> {
            if (syncing || n == null) return;
            syncing = true;
            session.selectedNodeProperty().set(-1);
            session.selectedTensorProperty().set(n.id());
            syncing = false;
        });
        session.highlightedProperty().addListener((o, a, n) -> {
            if (syncing) return;
            syncing = true;
            table.getSelectionModel().clearSelection();
            int firstIdx = -1;
            for (int t : n) {
                TensorRow r = byId.get(t);
                if (r == null) continue;
                int idx = table.getItems().indexOf(r);
                if (idx >= 0) {
                    table.getSelectionModel().select(idx);
                    if (firstIdx < 0) firstIdx = idx;
                }
            }
            if (firstIdx >= 0) table.scrollTo(Math.max(0, firstIdx - 2));
            syncing = false;
        });
    }

    private static int spanOf(String s) {
        String[] p = s.split("\u2013");
        try {
            return p.length == 2 ? Integer.parseInt(p[1].trim()) - Integer.parseInt(p[0].trim()) : 1 << 20;
        } catch (NumberFormatException e) {
            return 1 << 20;
        }
    }

    private static String lifetime(TensorRow r) {
        if (r.last() < 0) return "never used";
        if (r.first() < 0) return "always";
        return r.first() + " \u2013 " + r.last();
    }

    private void refilter() {
        String q = filter.getText() == null ? "" : filter.getText().trim().toLowerCase(Locale.ROOT);
        boolean saved = onlySaved.isSelected();
        filtered.setPredicate(r -> (!saved || r.saved())
                && (q.isEmpty() || r.name().toLowerCase(Locale.ROOT).contains(q) || r.role().contains(q)));
    }

    private void load(Analysis a) {
        byId.clear();
        if (a == null) {
            rows.clear();
            return;
        }
        List<TensorRow> list = new ArrayList<>();
        var plan = session.plan();
        for (var t : a.schedule().tensors()) {
            TensorRow r = new TensorRow(a, t);
            if (plan != null && plan.schedule() == a.schedule())
                r.techniqueProperty().set(PlanEdits.techniqueOf(plan.decision(t.id())));
            list.add(r);
            byId.put(t.id(), r);
        }
        rows.setAll(list);
    }

    public TableView<TensorRow> table() { return table; }
    public TensorRow row(int tensor) { return byId.get(tensor); }
    public BooleanProperty techniquesEnabledProperty() { return techniquesEnabled; }

    /** Called when the user picks a technique for a tensor. */
    public void setOnTechnique(BiConsumer<TensorRow, Technique> handler) {
        onTechnique = handler;
    }
}
