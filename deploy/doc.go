// Package deploy holds podexporter's deployment files (Quadlet units, the native systemd
// unit, example configurations) and the tests that prove them: the Quadlet units are
// run through the real Quadlet generator, the systemd unit's flags through the real
// binary, and the rootful unit's podman command starts podexporter as a container.
// With the systemd_e2e tag (make systemd-e2e), every unit is installed as the README
// says under a real systemd with Podman 5 and Quadlet, and checked end to end.
// It has no Go API.
package deploy
