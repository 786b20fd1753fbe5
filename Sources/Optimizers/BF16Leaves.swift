import Tensors

// Leaves held in bfloat16 (docs/bf16.md "The optimizer on a bf16 leaf").
//
// A bf16 model holds LayerScale γ in bf16, and optax then keeps every state
// leaf of γ in bf16 too (`zeros_like(params)`) and computes on it with bf16
// operations: Python-float hyperparameters become bf16 constants (they are
// weakly typed), and XLA:CPU computes each bf16 op as the float32 op rounded
// to bf16. cnx holds every tensor in `Float`, so each transformation is told
// which paths are bf16 (`bf16Leaves`, resolved once per model by Training's
// `DeclaredOptimizer`) and rounds those where XLA rounds; every other leaf
// keeps its float32 kernels and bits.

/// `tree` with the leaves at `bf16Leaves` rounded to bfloat16 (optax's
/// `tree.cast_like` onto a tree with those leaves in bf16).
func roundingLeaves(_ tree: TensorTree, _ bf16Leaves: Set<String>) -> TensorTree {
    if bf16Leaves.isEmpty { return tree }
    return tree.map { path, t in bf16Leaves.contains(path) ? t.roundedToBF16() : t }
}

/// `, N bf16 leaves` for a description, or nothing when there are none.
func bf16Description(_ bf16Leaves: Set<String>) -> String {
    bf16Leaves.isEmpty ? "" : ", \(bf16Leaves.count) bf16 leaves"
}
