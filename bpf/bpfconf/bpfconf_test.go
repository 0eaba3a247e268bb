package bpfconf

import (
	"errors"
	"testing"

	"github.com/podexporter/podexporter/internal/setting"
)

// TestValidate: extras need the programs they extend.
func TestValidate(t *testing.T) {
	for _, s := range []Settings{{}, {Enable: true}, {Enable: true, Extras: true}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	s := Settings{Extras: true}
	var se *setting.Error
	if err := s.Validate(); !errors.As(err, &se) || se.Setting != "--ebpf.extras" {
		t.Errorf("extras without enable: Validate() = %v", err)
	}
}
