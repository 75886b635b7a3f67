package yubikey

// StoredManagementKey returns the management key Prepare stored on the
// token, for tests that check its length and randomness.
func StoredManagementKey(t *Token, pin string) ([]byte, error) { return t.managementKey(pin) }
