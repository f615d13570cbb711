package memplan.app.ui.planner;

import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.LongProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleLongProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.ObservableList;
import javafx.util.StringConverter;
import memplan.app.ui.Fmt;
import memplan.app.ui.session.Analysis;
import memplan.app.ui.session.Evaluation;
import memplan.app.ui.session.SessionViewModel;
import memplan.plan.Plan;
import memplan.planner.SolveControl;
import memplan.planner.SolveReport;
import memplan.sim.DeviceModel;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Choosing a planner and a budget, applying its plan, and comparing two planners at that budget. The budget is a
 * fraction of the way from the lower bound (what the largest step needs at once) to the baseline peak.
 */
public final class PlannerViewModel {
    private final SessionViewModel session;
    private final PlannerCatalog catalog;
    private final StringProperty planner = new SimpleStringProperty("hybrid-greedy");
    private final DoubleProperty budgetFraction = new SimpleDoubleProperty(0.6);
    private final LongProperty budgetBytes = new SimpleLongProperty(0);
    private final StringProperty result = new SimpleStringProperty("");
    private final StringProperty plannerA = new SimpleStringProperty("swap");
    private final StringProperty plannerB = new SimpleStringProperty("checkpoint-sqrt");
    private final ObjectProperty<Evaluation> evalA = new SimpleObjectProperty<>(), evalB = new SimpleObjectProperty<>();
    private final StringProperty compareStatus = new SimpleStringProperty("");
    private final BooleanProperty searching = new SimpleBooleanProperty(false);
    private final StringProperty searchStatus = new SimpleStringProperty("");
    private SolveControl search; // the running solver search, touched on the view-model thread only
    private boolean budgetChosen;

    public PlannerViewModel(SessionViewModel session, PlannerCatalog catalog) {
        this.session = session;
        this.catalog = catalog;
        if (!catalog.names().contains(planner.get())) planner.set(catalog.names().get(catalog.names().size() - 1));
        if (!catalog.names().contains(plannerA.get())) plannerA.set(catalog.names().get(0));
        if (!catalog.names().contains(plannerB.get())) plannerB.set(catalog.names().get(catalog.names().size() - 1));
        budgetFraction.addListener(o -> updateBudget());
        session.analysisProperty().addListener(o -> {
            updateBudget();
            evalA.set(null);
            evalB.set(null);
            result.set("");
        });
        // The budget line appears once the user picks a budget (slider or Apply plan), not before.
        budgetBytes.addListener(o -> {
            if (budgetChosen) session.budgetBytesProperty().set(budgetBytes.get());
        });
    }

    public PlannerCatalog catalog() { return catalog; }
    public StringProperty plannerProperty() { return planner; }
    public DoubleProperty budgetFractionProperty() { return budgetFraction; }
    public LongProperty budgetBytesProperty() { return budgetBytes; }
    public StringProperty resultProperty() { return result; }
    public StringProperty plannerAProperty() { return plannerA; }
    public StringProperty plannerBProperty() { return plannerB; }
    public ObjectProperty<Evaluation> evalAProperty() { return evalA; }
    public ObjectProperty<Evaluation> evalBProperty() { return evalB; }
    public StringProperty compareStatusProperty() { return compareStatus; }
    /** True while a solver-based planner searches (Stop search is offered). */
    public BooleanProperty searchingProperty() { return searching; }
    /** The solver's incumbent, bound and gap as they improve, then its final report. */
    public StringProperty searchStatusProperty() { return searchStatus; }

    /** Ends the running solver search; the planner then returns the best plan it found so far, which is applied. */
    public void stopSearch() {
        if (search != null) search.stop();
    }

    /** Smallest budget the slider offers: what one step must hold at once. */
    public long minBudget() {
        Analysis a = session.analysis();
        return a == null ? 0 : a.profile().lowerBound();
    }

    public long maxBudget() {
        Analysis a = session.analysis();
        return a == null ? 0 : a.profile().peakBytes();
    }

    private void updateBudget() {
        long lo = minBudget(), hi = maxBudget();
        budgetBytes.set(lo + Math.round((hi - lo) * budgetFraction.get()));
    }

    /** The user moved the budget slider: from now on the budget line is drawn. */
    public void chooseBudget() {
        budgetChosen = true;
        session.budgetBytesProperty().set(budgetBytes.get());
    }

    /** A planner's name for people ("Hybrid (greedy)") where the catalog has one, else its identifier. */
    public String displayName(String name) {
        return catalog.displayName(name);
    }

    /** Shows planners by their names for people in choice boxes. */
    public StringConverter<String> nameConverter() {
        return new StringConverter<>() {
            @Override public String toString(String n) { return n == null ? "" : displayName(n); }
            @Override public String fromString(String s) { return s; }
        };
    }

    /** Keeps in a choice list only the planners that can do something for the open model. */
    public void offeredFor(List<String> items) {
        Analysis a = session.analysis();
        if (a == null) return;
        List<String> ok = new ArrayList<>();
        for (String n : catalog.names()) if (catalog.appliesTo(n, a.schedule())) ok.add(n);
        if (ok.equals(items)) return;
        String[] chosen = {planner.get(), plannerA.get(), plannerB.get()};
        if (items instanceof ObservableList<String> ol) ol.setAll(ok);
        else {
            items.clear();
            items.addAll(ok);
        }
        // a choice box drops a value that left its list: put the user's choices back where they are still offered
        List<StringProperty> props = List.of(planner, plannerA, plannerB);
        for (int k = 0; k < 3; k++)
            props.get(k).set(ok.contains(chosen[k]) ? chosen[k] : ok.get(ok.size() - 1));
    }

    /** Makes {@code e} (planner A or B of Compare) the current plan. */
    public void use(Evaluation e, String which) {
        if (e == null || !session.mayReplaceEdits("Use " + which)) return;
        String name = "A".equals(which) ? plannerA.get() : plannerB.get();
        session.showEvaluation(e, "Use " + which + " (" + displayName(name) + ")");
    }

    /** Sets the budget in bytes (clamped to the slider's range). */
    public void setBudget(long bytes) {
        long lo = minBudget(), hi = maxBudget();
        if (hi <= lo) return;
        budgetFraction.set(Math.max(0, Math.min(1, (double) (bytes - lo) / (hi - lo))));
    }

    /** Makes the chosen planner's plan for the budget in the background, then shows it everywhere. */
    public void apply() {
        Analysis a = session.analysis();
        if (a == null || !session.mayReplaceEdits("Apply plan")) return;
        budgetChosen = true;
        session.budgetBytesProperty().set(budgetBytes.get());
        String name = planner.get();
        long budget = budgetBytes.get();
        DeviceModel dev = session.deviceProperty().get();
        result.set("Planning with " + displayName(name) + "\u2026");
        boolean solver = catalog.solverBased(name);
        AtomicReference<String> latest = new AtomicReference<>();
        // The solver reports on its own threads, often: only the newest text is posted, one post at a time.
        SolveControl.Listener listener = new SolveControl.Listener() {
            @Override
            public void improved(double incumbent, double bound, double wall) {
                show(searchText(incumbent, bound, wall));
            }

            @Override
            public void finished(SolveReport r) {
                show(finalText(r));
            }

            private void show(String text) {
                if (latest.getAndSet(text) == null)
                    session.runner().post(() -> searchStatus.set(latest.getAndSet(null)));
            }
        };
        SolveControl control = new SolveControl(null, null); // what Stop search sets; the planner's control polls it
        search = solver ? control : null;
        searching.set(solver);
        searchStatus.set(solver ? "Searching\u2026 (Stop search keeps the best plan found so far)" : "");
        session.runner().run("Planning with " + name, p -> {
            SolveControl watched = new SolveControl(solver ? listener : null, () -> control.stopRequested()
                    || p.isCancelled());
            Plan plan = catalog.plan(name, a.schedule(), budget, dev, watched);
            p.checkCancelled();
            return SessionViewModel.evaluate(a, plan, dev);
        }, e -> {
            endSearch(control);
            if (session.analysis() != a) return;
            session.showEvaluation(e, "Apply plan " + displayName(name));
            result.set(describe(displayName(name), e, budget));
        }, ex -> {
            endSearch(control);
            result.set(name + " failed: " + SessionViewModel.describe(ex));
        }, () -> endSearch(control));
    }

    private void endSearch(SolveControl control) {
        if (search != control) return;
        search = null;
        searching.set(false);
    }

    static String searchText(double incumbent, double bound, double wall) {
        String inc = Double.isNaN(incumbent) ? "no plan yet" : "best plan +" + Fmt.seconds(incumbent);
        double gap = Double.isNaN(incumbent) || incumbent <= 0 ? Double.NaN
                : Math.max(0, (incumbent - bound) / incumbent);
        return String.format(Locale.ROOT, "Searching: %s, bound +%s%s (%.1f s)", inc, Fmt.seconds(bound),
                Double.isNaN(gap) ? "" : String.format(Locale.ROOT, ", gap %.1f%%", 100 * gap), wall);
    }

    static String finalText(SolveReport r) {
        boolean stopped = r.note().contains("stopped");
        return String.format(Locale.ROOT, "Solver: %s, added time +%s, bound +%s, gap %.1f%% after %.1f s%s; plan from"
                        + " the %s", r.optimal() ? "optimal" : stopped ? "stopped" : "time limit",
                Fmt.seconds(r.simulatedSeconds()), Fmt.seconds(r.boundSeconds()), 100 * r.gap(), r.wallSeconds(),
                stopped ? " (the best plan found so far)" : "", r.source());
    }

    public static String describe(String name, Evaluation e, long budget) {
        boolean fits = e.peakBytes() <= budget;
        return String.format(Locale.ROOT,
                "%s: predicted peak %s %s budget %s; overhead %s; moved %s; %d tensors changed%s",
                name, Fmt.bytes(e.peakBytes()), fits ? "\u2264" : ">", Fmt.bytes(budget),
                        Fmt.percent(e.overheadFraction()),
                Fmt.bytes(e.bytesMoved()), e.plan() == null ? 0 : e.plan().changedCount(),
                fits ? "" : ". No plan of " + name + " fits this budget; shown is the lowest peak it reached.");
    }

    /** Plans with A and B at the current budget (both in the background). */
    public void compare() {
        Analysis a = session.analysis();
        if (a == null) return;
        String na = plannerA.get(), nb = plannerB.get();
        long budget = budgetBytes.get();
        DeviceModel dev = session.deviceProperty().get();
        compareStatus.set("Planning with " + na + " and " + nb + "\u2026");
        session.runner().run("Comparing " + na + " and " + nb, p -> {
            Evaluation ea = SessionViewModel.evaluate(a, catalog.plan(na, a.schedule(), budget, dev), dev);
            p.update(1, 2);
            p.checkCancelled();
            Evaluation eb = SessionViewModel.evaluate(a, catalog.plan(nb, a.schedule(), budget, dev), dev);
            return new Evaluation[]{ea, eb};
        }, r -> {
            if (session.analysis() != a) return;
            evalA.set(r[0]);
            evalB.set(r[1]);
            compareStatus.set("Budget " + Fmt.bytes(budget) + " on " + dev.name());
        }, ex -> compareStatus.set("Comparison failed: " + SessionViewModel.describe(ex)));
    }
}
