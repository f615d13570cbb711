package memplan.app.ui.session;

import memplan.plan.Plan;

import java.util.ArrayList;
import java.util.List;

/**
 * The plans a session has shown, for undo and redo. Plans are immutable, so the history is a list of them with a
 * cursor; each entry says what made it ("Recompute relu1", "Apply plan hybrid") and how many of its decisions the
 * user set by hand since the last plan made for them. Not thread-safe: the UI thread owns it.
 */
public final class PlanHistory {
    /** One plan the session showed, what made it, and the hand edits it holds. */
    public record Entry(Plan plan, String what, int handEdits) {
    }

    /** Entries beyond this are dropped from the start (a plan of a big model is a few KiB). */
    public static final int LIMIT = 200;

    private final List<Entry> entries = new ArrayList<>();
    private int cursor = -1;

    /** Starts over with one plan (a model was opened): nothing to undo. */
    public void reset(Plan p, String what) {
        entries.clear();
        entries.add(new Entry(p, what, 0));
        cursor = 0;
    }

    /** Records a new current plan; what could be redone is dropped. */
    public void push(Plan p, String what, int handEdits) {
        while (entries.size() > cursor + 1) entries.remove(entries.size() - 1);
        entries.add(new Entry(p, what, handEdits));
        cursor = entries.size() - 1;
        if (entries.size() > LIMIT) {
            entries.remove(0);
            cursor--;
        }
    }

    public boolean canUndo() {
        return cursor > 0;
    }

    public boolean canRedo() {
        return cursor >= 0 && cursor + 1 < entries.size();
    }

    /** The entry that undo would leave (its {@code what} names the change undone), or null. */
    public Entry undoable() {
        return canUndo() ? entries.get(cursor) : null;
    }

    public Entry redoable() {
        return canRedo() ? entries.get(cursor + 1) : null;
    }

    /** Steps back; returns the entry now current, or null when there is nothing to undo. */
    public Entry undo() {
        if (!canUndo()) return null;
        return entries.get(--cursor);
    }

    public Entry redo() {
        if (!canRedo()) return null;
        return entries.get(++cursor);
    }

    public Entry current() {
        return cursor < 0 ? null : entries.get(cursor);
    }

    public int size() {
        return entries.size();
    }

    /** Takes over another history's entries and cursor (a lesson giving the user's history back). */
    public void restore(PlanHistory other) {
        entries.clear();
        entries.addAll(other.entries);
        cursor = other.cursor;
    }

    /** A copy (for a lesson to put the user's history back afterwards). */
    public PlanHistory copy() {
        PlanHistory h = new PlanHistory();
        h.entries.addAll(entries);
        h.cursor = cursor;
        return h;
    }
}
