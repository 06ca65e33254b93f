// Package conditions sets an object's status conditions so that they mean
// one thing each, in the style of fluxcd's runtime/conditions: Ready is
// always present; Reconciling and Stalled are present only while True and
// exclude each other, so a GitOps tool never reads a condition left False
// with a borrowed reason.
package conditions

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types this package manages.
const (
	Ready       = "Ready"
	Reconciling = "Reconciling"
	Stalled     = "Stalled"
)

// Set sets one condition, keeping its transition time when the status is unchanged.
func Set(conds *[]metav1.Condition, generation int64, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: condType, Status: status, Reason: reason,
		Message: message, ObservedGeneration: generation})
}

// Delete removes a condition.
func Delete(conds *[]metav1.Condition, condType string) { meta.RemoveStatusCondition(conds, condType) }

// MarkReady says the object is done: Ready=True, neither Reconciling nor Stalled.
func MarkReady(conds *[]metav1.Condition, generation int64, reason, message string) {
	Set(conds, generation, Ready, metav1.ConditionTrue, reason, message)
	Delete(conds, Reconciling)
	Delete(conds, Stalled)
}

// MarkNotReady sets Ready=False without touching Reconciling or Stalled.
func MarkNotReady(conds *[]metav1.Condition, generation int64, reason, message string) {
	Set(conds, generation, Ready, metav1.ConditionFalse, reason, message)
}

// MarkReconciling says work is in progress: Reconciling=True, Stalled removed.
func MarkReconciling(conds *[]metav1.Condition, generation int64, reason, message string) {
	Set(conds, generation, Reconciling, metav1.ConditionTrue, reason, message)
	Delete(conds, Stalled)
}

// MarkStalled says the object cannot progress without a change: Stalled=True, Reconciling removed.
func MarkStalled(conds *[]metav1.Condition, generation int64, reason, message string) {
	Set(conds, generation, Stalled, metav1.ConditionTrue, reason, message)
	Delete(conds, Reconciling)
}

// Get returns a condition, or nil.
func Get(conds []metav1.Condition, condType string) *metav1.Condition {
	return meta.FindStatusCondition(conds, condType)
}

// IsTrue reports whether a condition is present and True.
func IsTrue(conds []metav1.Condition, condType string) bool {
	return meta.IsStatusConditionTrue(conds, condType)
}
