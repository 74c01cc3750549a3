//go:build race

package mimewalk

// raceEnabled skips the long memory walk under -race, where allocation
// figures mean nothing and the walk takes minutes.
const raceEnabled = true
