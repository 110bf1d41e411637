//go:build !race

package server_test

// raceEnabled says the test binary was built with -race; the load test
// then builds its server with -race too if FUTURES_LOAD_SERVER_RACE=1.
const raceEnabled = false
