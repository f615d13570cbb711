package memplan.fuzz;

/**
 * What a fuzz target accepts as a proper answer to a bad file: one of the engine's user errors, whose message is one
 * line naming the file and speaking of the model, not of Java. Anything else thrown is a finding.
 */
final class UserErrors {
    private UserErrors() {
    }

    /**
     * Throws an AssertionError (a finding) if the message of a user error is not one clear line about {@code file}.
     * Text of the input itself may be quoted back, so a leak only counts if the input does not contain it.
     */
    static void checkMessage(RuntimeException e, String file, String input) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) throw new AssertionError("user error without a message", e);
        if (m.contains("\n") && !input.contains("\n") && !input.contains("\\n")) throw new AssertionError("message of more than one line: " + m, e);
        if (!m.startsWith(file)) throw new AssertionError("message does not name the file: " + m, e);
        for (String leak : new String[]{"Exception", "java.", "Index ", "out of bounds", "/ by zero", "For input string",
                "because \"", "is null"})
            if (m.contains(leak) && !input.contains(leak)) throw new AssertionError("message leaks Java (" + leak + "): " + m, e);
        if (m.endsWith(": null") && !input.contains("null")) throw new AssertionError("a reason of null: " + m, e);
    }
}
