package memplan.onnx;

/** A problem found while converting, with where it is (node, input or initializer); OnnxImporter adds the file. */
class OnnxError extends RuntimeException {
    final String where;

    OnnxError(String where, String reason) {
        super(reason);
        this.where = where;
    }
}
