//go:build !race

package outbound

const composeRace = false
