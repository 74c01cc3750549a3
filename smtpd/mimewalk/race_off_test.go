//go:build !race

package mimewalk

const raceEnabled = false
