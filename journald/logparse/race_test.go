//go:build race

package logparse

const raceEnabled = true
