package localarn

import "testing"

func TestARNs(t *testing.T) {
	tests := []struct{ got, want string }{
		{Function("Poll"), "arn:aws:lambda:local:000000000000:function:Poll"},
		{StateMachine("VideoJob"), "arn:aws:states:local:000000000000:stateMachine:VideoJob"},
		{Execution("VideoJob", "j-1"), "arn:aws:states:local:000000000000:execution:VideoJob:j-1"},
		{Schedule("Nightly"), "arn:aws:scheduler:local:000000000000:schedule/default/Nightly"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
	if id, ok := FunctionID(Function("Poll")); !ok || id != "Poll" {
		t.Errorf("FunctionID = %q, %v", id, ok)
	}
	if id, ok := StateMachineID(StateMachine("VideoJob")); !ok || id != "VideoJob" {
		t.Errorf("StateMachineID = %q, %v", id, ok)
	}
	if _, ok := StateMachineID(Function("Poll")); ok {
		t.Error("a function ARN named a state machine")
	}
	if _, ok := FunctionID("arn:aws:lambda:us-east-1:123456789012:function:Poll"); ok {
		t.Error("a deployed ARN was taken as local")
	}
}
