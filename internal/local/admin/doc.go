// Package admin serves the local runtime's own loopback routes under
// /local/, which have no AWS counterpart on the API: listing state
// machines, starting and describing executions, listing and firing
// schedules.
package admin
