package memplan.app.ui.teach;

/** The techniques teaching mode demonstrates. */
public enum Lesson {
    SWAPPING("Swapping"), RECOMPUTATION("Recomputation"), SHARING("Memory sharing / in place"),
            COMPRESSION("Compression");

    public final String title;

    Lesson(String title) {
        this.title = title;
    }
}
