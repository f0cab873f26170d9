//go:build !unix

package sandbox

// lockDir does nothing where flock(2) is not available; one sandbox per
// state directory is then up to the operator.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
