package lambdafn

// NewReconciler lets the external tests read the reconciler's settings,
// which Reconcile's handler hides.
var NewReconciler = newReconciler
