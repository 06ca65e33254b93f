// Package lifecycle is the enrollment's state machine, and nothing else: the
// record an enrollment keeps on the Secret that holds its seed, the phase
// that record and the status put the enrollment in, the events a reconcile
// can observe, and the one transitions table that maps each (phase, event)
// to what happens next.
//
// It is pure by construction: its inputs are plain values (the enrollment
// object, the parsed record, fingerprints of the stored seeds, what a
// sign-in showed), it never sees a seed, a password or a token, and its
// dependencies exclude every client (purity_test.go checks the whole
// dependency set, and .golangci.yml's depguard the direct imports). The
// controllers observe, call Decide, and act on the transition it returns.
package lifecycle
