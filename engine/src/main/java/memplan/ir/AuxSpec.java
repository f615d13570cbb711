package memplan.ir;

/**
 * An extra tensor an op's forward pass writes only so that its backward pass can use it, e.g. MaxPool's argmax
 * indices or Dropout's mask. A null dtype means "the model's floating type".
 */
public record AuxSpec(String name, Shape shape, DType dtype) {
}
