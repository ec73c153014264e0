package steps

// SameRequest is sameRequest, for the external tests.
var SameRequest = sameRequest
