package memplan.onnx;

import memplan.ir.Remedy;

/**
 * A problem found while converting, with where it is (node, input or initializer); OnnxImporter adds the file.
 * {@code remedy} names what the user can change, {@code detail} its value (an input shape), both optional.
 */
class OnnxError extends RuntimeException {
    final String where;
    final Remedy remedy;
    final String detail;

    OnnxError(String where, String reason) {
        this(where, reason, null, null);
    }

    OnnxError(String where, String reason, Remedy remedy) {
        this(where, reason, remedy, null);
    }

    OnnxError(String where, String reason, Remedy remedy, String detail) {
        super(reason);
        this.where = where;
        this.remedy = remedy;
        this.detail = detail;
    }
}
